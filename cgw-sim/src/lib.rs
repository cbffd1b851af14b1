//! cgw-sim: the application. The nodes, the AWS mock, scenarios and
//! diagnosis build on the engines in `ike` and `bgp`; `main.rs` is only the
//! command line.
//!
//! - [`aws`]: what AWS Site-to-Site VPN accepts, as engine configuration.
//! - [`config`]: the host configuration of `run`, `validate` and `mock-aws`.
//! - [`device`]: strongSwan and Cisco IOS configurations read into a gateway configuration.
//! - [`diagnosis`]: symptoms explained: ranked causes and the fix.
//! - `kernel_lab` (Linux): a scenario's topology, hosts and link faults on
//!   network namespaces, for `lab run --netns`.
//! - [`lint`]: a gateway configuration checked against what AWS accepts.
//! - [`node`]: lab nodes: the IPsec tunnel gateway.
//! - [`runner`]: runs scenarios in the simulated lab and reports.
//! - [`scenario`]: the scenario file format (TOML) and its loader.
//! - `sla_daemon` (Linux): `cgw-sim sla`, the keepalive / SLA prober and responder.
//! - [`selftest`]: every AWS phase 1 suite and the classic failures, in memory.
//! - [`telemetry`]: logs, `/metrics` and the control socket of the daemons.
//! - [`toml_file`]: TOML files read with errors placed at file:line:column and key.

#![warn(missing_docs)]

pub mod assemble;
pub mod aws;
pub mod config;
#[cfg(target_os = "linux")]
pub mod daemon;
pub mod device;
pub mod diagnosis;
pub mod fleet;
pub mod import;
#[cfg(target_os = "linux")]
pub mod kernel_lab;
pub mod lint;
pub mod node;
pub mod os;
pub mod probe;
pub mod runner;
pub mod scenario;
pub mod selftest;
#[cfg(target_os = "linux")]
pub mod sla_daemon;
#[cfg(target_os = "linux")]
pub mod telemetry;
pub mod toml_file;
