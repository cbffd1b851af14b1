//! strongSwan + BIRD playing a customer device in the
//! [`crate::vpn_topology`] lab: two initiator charons (one per tunnel, in
//! namespaces behind the `cgw` router's source NAT to 192.0.2.10, IKE
//! identity 192.0.2.10) and BIRD AS 65000 announcing the on-prem prefix to
//! both AWS inside addresses; BIRD in the `cgw` router picks the tunnel.
//! Per-tunnel knobs give a wrong DH group or a wrong PSK.

use crate::strongswan::{CharonConfig, SwanctlError};
use crate::vpn_side::{bgp_name, RealSide, SideSpec};
use crate::vpn_topology::{
    InsideIp, TunnelPlan, VpnTopology, AWS_ASN, CGW_ASN, CGW_OUTSIDE, ONPREM6_PREFIX, ONPREM_PREFIX,
};

/// The customer device's default phase 1 proposal (one AWS accepts).
pub const CGW_IKE_PROPOSAL: &str = "aes128-sha256-modp2048";
/// The customer device's default phase 2 proposal (PFS group 14 at rekey).
pub const CGW_ESP_PROPOSAL: &str = "aes128gcm16-modp2048";
/// A phase 1 proposal AWS refuses: DH group 5 (MODP-1536) only, which AWS
/// allows in phase 2 but never in phase 1.
pub const WRONG_DH_IKE_PROPOSAL: &str = "aes128-sha1-modp1536";
/// A PSK that is not the plan's (AWS's alphabet, so only the value is wrong).
pub const WRONG_PSK: &str = "cgwsim.lab.wrong.psk";

/// Knobs of one CGW tunnel.
#[derive(Debug, Clone)]
pub struct CgwTunnelOptions {
    pub ike_proposals: String,
    pub esp_proposals: String,
    /// `None`: the plan's PSK (what AWS expects).
    pub psk: Option<String>,
}

impl Default for CgwTunnelOptions {
    fn default() -> CgwTunnelOptions {
        CgwTunnelOptions {
            ike_proposals: CGW_IKE_PROPOSAL.into(),
            esp_proposals: CGW_ESP_PROPOSAL.into(),
            psk: None,
        }
    }
}

/// Knobs of the real CGW side.
#[derive(Debug, Clone, Default)]
pub struct RealCgwOptions {
    /// Tunnel 1, tunnel 2.
    pub tunnels: [CgwTunnelOptions; 2],
    /// Log IKE/ESP keys (charon level 4) for Wireshark decryption.
    pub key_log: bool,
}

impl RealCgwOptions {
    /// Tunnel `n` offers only DH group 5 in phase 1 (AWS: NO_PROPOSAL_CHOSEN).
    pub fn wrong_dh_group(n: u8) -> RealCgwOptions {
        let mut o = RealCgwOptions::default();
        o.tunnels[usize::from(n - 1)].ike_proposals = WRONG_DH_IKE_PROPOSAL.into();
        o
    }

    /// Tunnel `n` uses [`WRONG_PSK`] (AWS: AUTHENTICATION_FAILED).
    pub fn wrong_psk(n: u8) -> RealCgwOptions {
        let mut o = RealCgwOptions::default();
        o.tunnels[usize::from(n - 1)].psk = Some(WRONG_PSK.into());
        o
    }
}

/// The charon config of CGW tunnel endpoint `plan.number`, whose outside
/// address behind the NAT is `local_addr`.
pub fn cgw_charon_config(
    plan: &TunnelPlan,
    local_addr: std::net::Ipv4Addr,
    t: &CgwTunnelOptions,
    key_log: bool,
) -> CharonConfig {
    let mut c = CharonConfig::cgw_initiator(local_addr, plan.aws_outside);
    c.name = bgp_name(plan.number);
    // AWS knows the customer gateway by its public address
    c.local_id = Some(CGW_OUTSIDE);
    c.psk = t.psk.clone().unwrap_or_else(|| plan.psk.clone());
    c.ike_proposals = t.ike_proposals.clone();
    c.esp_proposals = t.esp_proposals.clone();
    c.inside_addr = Some(plan.inside.cgw_cidr());
    c.interface = "rtr0".into();
    c.key_log = key_log;
    c
}

/// Start the customer device in `topo` (built with `cgw_slot = Slot::Real`):
/// both initiator charons (nothing initiated yet: see [`initiate`]) and
/// the three BIRDs.
pub fn start_real_cgw(topo: &VpnTopology, opts: &RealCgwOptions) -> RealSide {
    let links = topo
        .cgw_endpoints
        .as_ref()
        .expect("start_real_cgw needs a topology built with the CGW slot Real");
    let spec = SideSpec {
        label: "cgw",
        asn: CGW_ASN,
        peer_asn: AWS_ASN,
        announce: match topo.inside() {
            InsideIp::V4 => ONPREM_PREFIX,
            InsideIp::V6 => ONPREM6_PREFIX,
        }
        .into(),
        bgp_passive: false,
        aws_side: false,
        inside: topo.inside(),
    };
    RealSide::start(spec, links, &topo.cgw, |plan, link| {
        let t = &opts.tunnels[usize::from(plan.number - 1)];
        cgw_charon_config(plan, link.outside_addr, t, opts.key_log)
    })
}

/// Initiate tunnel `n` of a real CGW side (swanctl waits up to 20 s).
pub fn initiate(cgw: &RealSide, n: u8) -> Result<(), SwanctlError> {
    cgw.endpoint(n).charon.initiate()
}
