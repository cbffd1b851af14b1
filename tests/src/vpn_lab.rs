//! The end-to-end VPN lab with its players: [`VpnLab::new`] builds the
//! [`VpnTopology`] and starts strongSwan + BIRD on the sides they play.
//! A side played by our daemon is handed over as [`OursCgw`] / [`OursAws`]:
//! the namespace, its interfaces and addresses and the tunnel parameters,
//! for the caller to run `cgw-sim run` / `cgw-sim mock-aws` in it
//! (`ns.spawn_in(...)`, `ns.run_in(...)`, or `ip netns exec NAME ...`).
//!
//! Drop order: the real peers' daemons stop first (by PID), then the
//! namespaces go; also when a test panics.

use crate::aws_peer::{start_real_aws, RealAwsOptions};
use crate::cgw_peer::{start_real_cgw, RealCgwOptions};
use crate::netns::Netns;
use crate::vpn_side::RealSide;
use crate::vpn_topology::{
    InsideIp, Slot, TunnelPlan, VpnTopology, AWS_ASN, AWS_OUTSIDE, CGW_ASN, CGW_OUTSIDE,
    INET_AWS_SIDE, INET_CGW_SIDE, ONPREM6_PREFIX, ONPREM_GW, ONPREM_HOST, ONPREM_PREFIX,
    VPC6_PREFIX, VPC_GW, VPC_HOST, VPC_PREFIX,
};
use std::net::Ipv4Addr;

/// Who plays the customer gateway.
#[derive(Debug, Clone)]
pub enum CgwPlayer {
    /// strongSwan + BIRD (see [`crate::cgw_peer`]).
    StrongSwan(RealCgwOptions),
    /// Our `cgw-sim run`, started by the caller in [`OursCgw::ns`].
    Ours,
}

/// Who plays AWS.
#[derive(Debug, Clone)]
pub enum AwsPlayer {
    /// strongSwan + BIRD (see [`crate::aws_peer`]).
    StrongSwan(RealAwsOptions),
    /// Our `cgw-sim mock-aws`, started by the caller in [`OursAws::ns`].
    Ours,
}

/// The CGW slot handed to our daemon.
#[derive(Clone)]
pub struct OursCgw {
    /// The namespace: `wan0` 192.0.2.10/24 (route to 198.51.100.0/24 via
    /// 192.0.2.1), `lan0` 198.18.0.1/24 towards the on-prem host,
    /// forwarding on, no tunnel device yet.
    pub ns: Netns,
    /// `"wan0"`.
    pub wan_if: &'static str,
    /// `"lan0"`.
    pub lan_if: &'static str,
    /// 192.0.2.10, the address AWS knows (IKE identity).
    pub outside: Ipv4Addr,
    /// The next hop towards AWS (192.0.2.1).
    pub outside_gw: Ipv4Addr,
    /// 198.18.0.1, the on-prem host's gateway.
    pub lan_addr: Ipv4Addr,
    /// 198.18.0.0/24 (fd00:198:18::/48 in an IPv6 lab), to announce
    /// over BGP.
    pub lan_prefix: &'static str,
    /// 65000.
    pub asn: u32,
    /// 64512.
    pub aws_asn: u32,
    /// Both tunnels: AWS outside address, inside /30 (CGW .2), PSK.
    pub tunnels: [TunnelPlan; 2],
    /// What the tunnels carry (an IPv6 connection: the plan's /126s).
    pub inside: InsideIp,
}

/// The AWS slot handed to our mock.
#[derive(Clone)]
pub struct OursAws {
    /// The namespace: `wan0` with 198.51.100.10/24 and 198.51.100.20/24
    /// (route to 192.0.2.0/24 via 198.51.100.1), `vpc0` 198.19.0.1/24
    /// towards the VPC host, forwarding on, no tunnel device yet.
    pub ns: Netns,
    /// `"wan0"`.
    pub wan_if: &'static str,
    /// `"vpc0"`.
    pub vpc_if: &'static str,
    /// Tunnel 1's and tunnel 2's outside addresses.
    pub outside: [Ipv4Addr; 2],
    /// The next hop towards the CGW (198.51.100.1).
    pub outside_gw: Ipv4Addr,
    /// 198.19.0.1, the VPC host's gateway.
    pub vpc_addr: Ipv4Addr,
    /// 198.19.0.0/16 (fd00:198:19::/48 in an IPv6 lab), to announce
    /// over BGP.
    pub vpc_prefix: &'static str,
    /// 64512.
    pub asn: u32,
    /// 65000.
    pub cgw_asn: u32,
    /// 192.0.2.10, the customer gateway AWS expects.
    pub cgw_outside: Ipv4Addr,
    /// Both tunnels: AWS outside address, inside /30 (AWS .1), PSK.
    pub tunnels: [TunnelPlan; 2],
    /// What the tunnels carry (an IPv6 connection: the plan's /126s).
    pub inside: InsideIp,
}

/// The VPN lab with its players (fields drop in order: peers, then
/// namespaces).
pub struct VpnLab {
    /// strongSwan + BIRD as the CGW, if they play it.
    pub cgw_peer: Option<RealSide>,
    /// strongSwan + BIRD as AWS, if they play it.
    pub aws_peer: Option<RealSide>,
    pub topo: VpnTopology,
}

impl VpnLab {
    /// Build the topology and start the real peers (AWS first: it only
    /// responds). Nothing is initiated: for a real CGW call
    /// [`crate::cgw_peer::initiate`] once AWS (real or ours) is running.
    pub fn new(cgw: CgwPlayer, aws: AwsPlayer) -> VpnLab {
        VpnLab::with_inside(cgw, aws, InsideIp::V4)
    }

    /// [`VpnLab::new`] for an IPv6 connection (AWS's
    /// `TunnelInsideIpVersion = ipv6`): the IPv6 plan of
    /// [`crate::vpn_topology`], real peers with ::/0 children and BGP over
    /// the inside /126s, our slots configured for IPv6.
    pub fn new_ipv6(cgw: CgwPlayer, aws: AwsPlayer) -> VpnLab {
        VpnLab::with_inside(cgw, aws, InsideIp::V6)
    }

    fn with_inside(cgw: CgwPlayer, aws: AwsPlayer, inside: InsideIp) -> VpnLab {
        let slot = |real: bool| if real { Slot::Real } else { Slot::Ours };
        let topo = VpnTopology::with_inside(
            slot(matches!(cgw, CgwPlayer::StrongSwan(_))),
            slot(matches!(aws, AwsPlayer::StrongSwan(_))),
            inside,
        );
        let aws_peer = match &aws {
            AwsPlayer::StrongSwan(o) => Some(start_real_aws(&topo, o)),
            AwsPlayer::Ours => None,
        };
        let cgw_peer = match &cgw {
            CgwPlayer::StrongSwan(o) => Some(start_real_cgw(&topo, o)),
            CgwPlayer::Ours => None,
        };
        VpnLab {
            cgw_peer,
            aws_peer,
            topo,
        }
    }

    /// The real CGW side; panics if our daemon plays it.
    pub fn real_cgw(&self) -> &RealSide {
        self.cgw_peer
            .as_ref()
            .expect("the CGW slot is ours, not strongSwan")
    }

    /// The real AWS side; panics if our mock plays it.
    pub fn real_aws(&self) -> &RealSide {
        self.aws_peer
            .as_ref()
            .expect("the AWS slot is ours, not strongSwan")
    }

    /// The CGW slot for our daemon; panics if strongSwan plays it.
    pub fn ours_cgw(&self) -> OursCgw {
        assert!(
            self.cgw_peer.is_none(),
            "the CGW slot is played by strongSwan"
        );
        OursCgw {
            ns: self.topo.cgw.clone(),
            wan_if: "wan0",
            lan_if: "lan0",
            outside: CGW_OUTSIDE,
            outside_gw: INET_CGW_SIDE,
            lan_addr: ONPREM_GW,
            lan_prefix: match self.topo.inside() {
                InsideIp::V4 => ONPREM_PREFIX,
                InsideIp::V6 => ONPREM6_PREFIX,
            },
            asn: CGW_ASN,
            aws_asn: AWS_ASN,
            tunnels: TunnelPlan::both(),
            inside: self.topo.inside(),
        }
    }

    /// The AWS slot for our mock; panics if strongSwan plays it.
    pub fn ours_aws(&self) -> OursAws {
        assert!(
            self.aws_peer.is_none(),
            "the AWS slot is played by strongSwan"
        );
        OursAws {
            ns: self.topo.aws.clone(),
            wan_if: "wan0",
            vpc_if: "vpc0",
            outside: AWS_OUTSIDE,
            outside_gw: INET_AWS_SIDE,
            vpc_addr: VPC_GW,
            vpc_prefix: match self.topo.inside() {
                InsideIp::V4 => VPC_PREFIX,
                InsideIp::V6 => VPC6_PREFIX,
            },
            asn: AWS_ASN,
            cgw_asn: CGW_ASN,
            cgw_outside: CGW_OUTSIDE,
            tunnels: TunnelPlan::both(),
            inside: self.topo.inside(),
        }
    }

    /// The on-prem host's and the VPC host's addresses.
    pub fn hosts(&self) -> (Ipv4Addr, Ipv4Addr) {
        (ONPREM_HOST, VPC_HOST)
    }

    /// Every real daemon's log tail and the hosts' routes, for failure
    /// messages.
    pub fn failure_context(&self) -> String {
        let mut s = String::new();
        for side in [&self.cgw_peer, &self.aws_peer].into_iter().flatten() {
            s.push_str(&side.failure_context());
            s.push('\n');
        }
        for (name, ns) in [("onprem", &self.topo.onprem), ("vpc", &self.topo.vpc)] {
            s.push_str(&format!(
                "--- {name} routes\n{}",
                ns.exec(&["ip", "route"]).stdout
            ));
        }
        s
    }
}
