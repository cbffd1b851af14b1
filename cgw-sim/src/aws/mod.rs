//! What AWS Site-to-Site VPN accepts (AWS-VPN-FACTS.md section 1), as IKE
//! configuration, and the log records AWS emits (section 4). The AWS mock
//! (issue 5) builds on this.

pub mod bgp_log_emitter;
pub mod log_emitter;
pub mod logs;
pub mod options;
pub mod path_choice;
mod proposals;

pub use options::{
    AwsTunnelConfig, DpdTimeoutAction, Encryption, GatewayKind, IkeVersion, Integrity, Ipv4Cidr,
    Ipv6Cidr, OptionError, Routing, StartupAction, TunnelOptions, UnknownName, VpnConnection,
};
pub use proposals::{aws_esp_proposals, aws_ike_proposals, AWS_PHASE1_GROUPS};

#[cfg(test)]
mod tests;
