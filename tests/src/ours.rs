//! Our daemons in the [`crate::vpn_lab`] lab: `cgw-sim run`'s customer
//! gateway in the [`OursCgw`] slot and `cgw-sim mock-aws` in the
//! [`OursAws`] slot, each on a thread inside the slot's namespace
//! (`cgw_sim::daemon::{cgw, mock}::spawn`), configured the way a user
//! would: a TOML file written from the slot's addresses and loaded with
//! `GatewayConfig::load` / `MockConfig::load`.
//!
//! [`Daemon`] wraps the running daemon: its latest view, waits that panic
//! with that view (and whatever else the caller adds) when they time out,
//! and a clean stop. The lab's namespaces are this crate's
//! ([`crate::netns::Netns`]); the daemons take `lab::kernel::Netns`, so
//! [`kernel_ns`] opens a handle on the same namespace.

use crate::netns::Netns;
use crate::proc::{self, TestDir};
use crate::vpn_lab::{OursAws, OursCgw};
use crate::vpn_topology::{InsideIp, TunnelPlan};
use cgw_sim::config::{GatewayConfig, MockConfig};
use cgw_sim::daemon::background::Background;
use cgw_sim::daemon::view::View;
use cgw_sim::daemon::{cgw, mock};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The same namespace as `ns`, as the daemons' namespace type (a handle
/// opened from a thread inside it; it never deletes the namespace).
pub fn kernel_ns(ns: &Netns) -> lab::kernel::Netns {
    ns.run_in(lab::kernel::Netns::here)
        .unwrap_or_else(|e| panic!("opening a handle on {}: {e}", ns.name()))
}

/// Knobs of one tunnel of our customer gateway.
#[derive(Debug, Clone, Default)]
pub struct OurTunnelOptions {
    /// `cgw.tunnelN.ike.dh_groups` (phase 1), `None`: the default (`[14]`).
    pub dh_groups: Option<Vec<u16>>,
    /// A PSK other than the plan's (`cgw.tunnelN.ike.psk`).
    pub psk: Option<String>,
    /// `cgw.tunnelN.ike.dpd` as TOML, e.g.
    /// `{ interval = "10s", timeout = "30s", action = "restart" }`.
    pub dpd: Option<String>,
    /// `gateway.tunnelN.validate.ping`.
    pub ping: Vec<Ipv4Addr>,
    /// `gateway.tunnelN.validate.tcp`.
    pub tcp: Vec<SocketAddr>,
}

/// AWS's recommended DPD for a customer gateway (10 s interval, 30 s
/// timeout, restart), as `cgw.tunnelN.ike.dpd`.
pub const AWS_RECOMMENDED_DPD: &str =
    r#"{ interval = "10s", timeout = "30s", action = "restart" }"#;

fn toml_list<T: std::fmt::Display>(v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("\"{x}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// The gateway file for the CGW slot: both tunnels to the plan's AWS
/// addresses and inside /30s (and /126s in an IPv6 lab), BGP AS 65000
/// announcing the on-prem prefix, plus each tunnel's options.
pub fn gateway_toml(
    slot: &OursCgw,
    tunnels: &[OurTunnelOptions; 2],
    validate_timeout: Duration,
) -> String {
    let mut s = format!(
        "[gateway]\nlocal_address = \"{}\"\nrouting = \"bgp\"\nvalidate_timeout = \"{}s\"\n",
        slot.outside,
        validate_timeout.as_secs().max(1)
    );
    for (plan, o) in slot.tunnels.iter().zip(tunnels) {
        let n = plan.number;
        s.push_str(&format!(
            "\n[gateway.tunnel{n}]\naws_address = \"{}\"\ninside_cidr = \"{}\"\n{}\
             \n[gateway.tunnel{n}.validate]\nping = {}\ntcp = {}\n",
            plan.aws_outside,
            crate::netns::network_cidr(plan.inside.aws(), 30),
            inside6_line(slot.inside, plan),
            toml_list(&o.ping),
            toml_list(&o.tcp),
        ));
    }
    s.push_str(&format!(
        "\n[cgw.bgp]\nasn = {}\npeer_asn = {}\nannounce = [\"{}\"]\n",
        slot.asn, slot.aws_asn, slot.lan_prefix
    ));
    for (plan, o) in slot.tunnels.iter().zip(tunnels) {
        let n = plan.number;
        let psk = o.psk.clone().unwrap_or_else(|| plan.psk.clone());
        s.push_str(&format!("\n[cgw.tunnel{n}.ike]\npsk = \"{psk}\"\n"));
        if let Some(g) = &o.dh_groups {
            let g: Vec<String> = g.iter().map(u16::to_string).collect();
            s.push_str(&format!("dh_groups = [{}]\n", g.join(", ")));
        }
        if let Some(d) = &o.dpd {
            s.push_str(&format!("dpd = {d}\n"));
        }
    }
    s
}

/// The mock file for the AWS slot: both endpoints, the customer gateway
/// address AWS knows, the VPC prefix, AS 64512, the plan's inside /30s
/// (and /126s on a transit gateway in an IPv6 lab) and PSKs, AWS's
/// defaults otherwise; records go to `log_path`.
pub fn mock_toml(slot: &OursAws, log_path: &std::path::Path) -> String {
    let mut s = format!(
        "[mock]\ncgw_address = \"{}\"\nvpc_cidrs = [\"{}\"]\nlog_path = {:?}\n",
        slot.cgw_outside, slot.vpc_prefix, log_path
    );
    for plan in &slot.tunnels {
        s.push_str(&format!(
            "\n[mock.tunnel{}]\nlisten = \"{}\"\n",
            plan.number, plan.aws_outside
        ));
    }
    s.push_str(&format!(
        "\n[aws]\nasn = {}\nrouting = \"bgp\"\ncgw_asn = {}\n",
        slot.asn, slot.cgw_asn
    ));
    if slot.inside == InsideIp::V6 {
        // AWS offers IPv6 inside tunnels on transit gateways only
        s.push_str("gateway = \"tgw\"\n");
    }
    for plan in &slot.tunnels {
        s.push_str(&format!(
            "\n[aws.tunnel{}]\ninside_cidr = \"{}\"\n{}psk = \"{}\"\n",
            plan.number,
            crate::netns::network_cidr(plan.inside.aws(), 30),
            inside6_line(slot.inside, plan),
            plan.psk
        ));
    }
    s
}

/// `inside_ipv6_cidr = "..."` (and a newline) for a tunnel of an IPv6
/// connection, nothing for an IPv4 one.
fn inside6_line(inside: InsideIp, plan: &TunnelPlan) -> String {
    match inside {
        InsideIp::V4 => String::new(),
        InsideIp::V6 => format!("inside_ipv6_cidr = \"{}\"\n", plan.inside6.cidr()),
    }
}

/// Write `text` to `dir/name` and load it as a gateway file (panics with
/// the loader's message and the text).
pub fn load_gateway(dir: &TestDir, name: &str, text: &str) -> GatewayConfig {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    GatewayConfig::load(&p).unwrap_or_else(|e| panic!("{e}\n--- {}\n{text}", p.display()))
}

/// Write `text` to `dir/name` and load it as a mock file.
pub fn load_mock(dir: &TestDir, name: &str, text: &str) -> MockConfig {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    MockConfig::load(&p).unwrap_or_else(|e| panic!("{e}\n--- {}\n{text}", p.display()))
}

/// One of our daemons running in a lab namespace. Stops (cleanly) on drop.
pub struct Daemon {
    /// `"our cgw"` or `"our mock-aws"` (for messages).
    pub label: &'static str,
    bg: Option<Background>,
    /// The mock's AWS-format log file, if any.
    pub log_path: Option<PathBuf>,
}

impl Daemon {
    /// Our customer gateway in the CGW slot.
    pub fn cgw(slot: &OursCgw, cfg: GatewayConfig, seed: [u8; 32]) -> Daemon {
        let ns = kernel_ns(&slot.ns);
        let bg = cgw::spawn(&ns, cfg, seed)
            .unwrap_or_else(|e| panic!("starting our customer gateway: {e}"));
        Daemon {
            label: "our cgw",
            bg: Some(bg),
            log_path: None,
        }
    }

    /// Our AWS mock in the AWS slot.
    pub fn mock(slot: &OursAws, cfg: MockConfig, seed: [u8; 32]) -> Daemon {
        let log_path = cfg.log_path.clone();
        let ns = kernel_ns(&slot.ns);
        let bg =
            mock::spawn(&ns, cfg, seed).unwrap_or_else(|e| panic!("starting our AWS mock: {e}"));
        Daemon {
            label: "our mock-aws",
            bg: Some(bg),
            log_path,
        }
    }

    /// The latest view.
    pub fn view(&self) -> View {
        self.bg.as_ref().map(Background::view).unwrap_or_default()
    }

    /// The view in a few lines: per tunnel, the state, BGP, learned
    /// prefixes, the last failure; routes, diagnoses, the last records.
    pub fn describe(&self) -> String {
        let v = self.view();
        let mut s = format!("===== {} (uptime {:.1} s)\n", self.label, v.uptime);
        if self.bg.as_ref().is_some_and(Background::finished) {
            s.push_str("  (its thread has ENDED: it failed at start or stopped)\n");
        }
        for (i, t) in v.tunnels.iter().enumerate() {
            let learned: Vec<String> = t
                .learned
                .iter()
                .map(|p| format!("{}/{}", p.addr, p.len))
                .collect();
            s.push_str(&format!(
                "  tunnel {}: ike_up {} up {} mtu {} bgp {:?} bgp_error {:?} learned {learned:?} last_failure {:?}\n",
                i + 1,
                t.ike_up,
                t.up,
                t.mtu,
                t.bgp.map(|b| b.name()),
                t.bgp_error,
                t.last_failure
            ));
        }
        s.push_str(&format!("  routes: {:?}\n", route_texts(&v)));
        for d in &v.diagnoses {
            s.push_str(&format!("  diagnosis tunnel {} [{}]: {}\n", d.0, d.1, d.2));
        }
        for (i, r) in v.records.iter().enumerate() {
            let from = r.len().saturating_sub(6);
            for line in &r[from..] {
                s.push_str(&format!("  record tunnel {}: {line}\n", i + 1));
            }
        }
        s.push_str(&format!("  stats: {:?}\n", v.stats));
        s
    }

    /// Wait until `ok(view)` holds; panics after `timeout` with the view
    /// and `context()` (the other side's logs). Returns the time it took.
    pub fn wait(
        &self,
        what: &str,
        timeout: Duration,
        ok: impl Fn(&View) -> bool,
        context: impl Fn() -> String,
    ) -> Duration {
        let t0 = Instant::now();
        let r = proc::wait_until(timeout, Duration::from_millis(50), || {
            ok(&self.view()).then(|| t0.elapsed())
        });
        r.unwrap_or_else(|| {
            panic!(
                "{}: {what}: not within {timeout:?}\n{}\n{}",
                self.label,
                self.describe(),
                context()
            )
        })
    }

    /// Stop it cleanly (Deletes, routes withdrawn, TUNs removed); panics
    /// if it ended with an error.
    pub fn stop(mut self) {
        if let Some(bg) = self.bg.take() {
            if let Err(e) = bg.stop() {
                panic!("{} ended with an error: {e}", self.label);
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(bg) = self.bg.take() {
            let _ = bg.stop();
        }
    }
}

/// The view's kernel routes as `"PREFIX DEV"`.
pub fn route_texts(v: &View) -> Vec<String> {
    v.routes
        .iter()
        .map(|(p, d)| format!("{}/{} {d}", p.addr, p.len))
        .collect()
}

/// Both tunnels up with BGP Established on both.
pub fn all_up(v: &View) -> bool {
    v.tunnels.iter().all(|t| t.up && t.bgp_since.is_some())
}
