//! strongSwan + BIRD playing AWS's side of a Site-to-Site VPN connection in
//! the [`crate::vpn_topology`] lab: two tunnel endpoints (198.51.100.10 and
//! .20), each a responder charon with AWS's tunnel parameters (IKEv2, PSK
//! per tunnel, ids = addresses, `start_action = none`, DPD 10 s, IKE
//! 28800 s, child 3600 s, AWS's proposal lists) and BIRD AS 64512 (hold
//! 30, keepalive 10) announcing the VPC CIDR; and BIRD in the VPC router
//! (`aws` namespace) choosing the tunnel for return traffic.

use crate::strongswan::CharonConfig;
use crate::vpn_side::{RealSide, SideSpec};
use crate::vpn_topology::{
    InsideIp, TunnelPlan, VpnTopology, AWS_ASN, CGW_ASN, CGW_OUTSIDE, VPC6_PREFIX, VPC_PREFIX,
};

/// Phase 1 proposals AWS accepts by default, strongSwan syntax: AES128/256
/// (CBC) or AES-GCM-16, SHA1 and SHA2-256/384/512, DH groups 2, 14-24
/// (never 5 in phase 1, never Curve25519).
pub const AWS_IKE_PROPOSALS: &str = "aes128-aes256-sha1-sha256-sha384-sha512-\
modp1024-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521-\
modp1024s160-modp2048s224-modp2048s256,\
aes128gcm16-aes256gcm16-prfsha1-prfsha256-prfsha384-prfsha512-\
modp1024-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521-\
modp1024s160-modp2048s224-modp2048s256";

/// Phase 2 proposals AWS accepts by default: the same ciphers, PFS groups
/// 2, 5, 14-24 (the group only applies at rekey: the first CHILD SA is
/// keyed from IKE_AUTH).
pub const AWS_ESP_PROPOSALS: &str = "aes128-aes256-sha1-sha256-sha384-sha512-\
modp1024-modp1536-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521-\
modp1024s160-modp2048s224-modp2048s256,\
aes128gcm16-aes256gcm16-\
modp1024-modp1536-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521-\
modp1024s160-modp2048s224-modp2048s256";

/// Knobs of the real AWS side.
#[derive(Debug, Clone)]
pub struct RealAwsOptions {
    /// IKE proposals of both endpoints (default [`AWS_IKE_PROPOSALS`]).
    pub ike_proposals: String,
    /// ESP proposals of both endpoints (default [`AWS_ESP_PROPOSALS`]).
    pub esp_proposals: String,
    /// AWS's BGP speakers wait for the CGW to connect (default true, as AWS
    /// waits for the CGW to start IKE).
    pub bgp_passive: bool,
    /// Log IKE/ESP keys (charon level 4) for Wireshark decryption.
    pub key_log: bool,
}

impl Default for RealAwsOptions {
    fn default() -> RealAwsOptions {
        RealAwsOptions {
            ike_proposals: AWS_IKE_PROPOSALS.into(),
            esp_proposals: AWS_ESP_PROPOSALS.into(),
            bgp_passive: true,
            key_log: false,
        }
    }
}

/// The charon config of AWS tunnel endpoint `plan.number`.
pub fn aws_charon_config(plan: &TunnelPlan, opts: &RealAwsOptions) -> CharonConfig {
    let mut c = CharonConfig::aws_responder(plan.aws_outside, CGW_OUTSIDE);
    c.name = crate::vpn_side::bgp_name(plan.number);
    c.psk = plan.psk.clone();
    c.ike_proposals = opts.ike_proposals.clone();
    c.esp_proposals = opts.esp_proposals.clone();
    c.inside_addr = Some(plan.inside.aws_cidr());
    c.interface = "wan0".into();
    c.key_log = opts.key_log;
    c
}

/// Start AWS's side in `topo` (which must have been built with
/// `aws_slot = Slot::Real`): both responder charons and the three BIRDs.
/// Nothing is initiated: AWS waits for the CGW.
pub fn start_real_aws(topo: &VpnTopology, opts: &RealAwsOptions) -> RealSide {
    let links = topo
        .aws_endpoints
        .as_ref()
        .expect("start_real_aws needs a topology built with the AWS slot Real");
    let spec = SideSpec {
        label: "aws",
        asn: AWS_ASN,
        peer_asn: CGW_ASN,
        announce: match topo.inside() {
            InsideIp::V4 => VPC_PREFIX,
            InsideIp::V6 => VPC6_PREFIX,
        }
        .into(),
        bgp_passive: opts.bgp_passive,
        aws_side: true,
        inside: topo.inside(),
    };
    RealSide::start(spec, links, &topo.aws, |plan, _| {
        aws_charon_config(plan, opts)
    })
}
