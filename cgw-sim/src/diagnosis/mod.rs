//! Diagnosis: from an observed symptom to its likely causes, ranked, and
//! the fix, in the words of AWS's Site-to-Site VPN troubleshooting
//! checklists (DESIGN.md, "Diagnosis").
//!
//! A pure layer: a [`Symptom`] (built by hand, or from the engines' typed
//! results with [`Diagnosis::from_ike_failure`], [`Diagnosis::from_ike_event`],
//! [`Diagnosis::from_bgp_notification`], ...) and a [`Context`] (which side
//! reported it, what AWS accepts, the configured addresses) give a
//! [`Diagnosis`]: the symptom in words, the causes ranked, the fix, and a
//! stable short code ([`Diagnosis::code`], e.g. "no-proposal-chosen") that
//! scenario expectations assert on.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ike::crypto::{EncrAlg, IntegAlg};
use ike::sa::{DpdAction, EspProposal, IkeProposal, Mismatch};

mod engines;
pub mod format;
mod knowledge;

pub use format::{aws_mtu, compact_ranges};

/// One end of a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The customer gateway.
    Cgw,
    /// AWS's tunnel endpoint (the mock).
    Aws,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::Cgw => Side::Aws,
            Side::Aws => Side::Cgw,
        }
    }
    /// "the CGW" or "AWS", for sentences.
    pub fn name(self) -> &'static str {
        match self {
            Side::Cgw => "the CGW",
            Side::Aws => "AWS",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// IKE phase: 1 is the IKE SA (IKE_SA_INIT, IKE_AUTH), 2 the child SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The IKE SA.
    One,
    /// The child (IPsec) SA.
    Two,
}

impl Phase {
    /// 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            Phase::One => 1,
            Phase::Two => 2,
        }
    }
}

/// What the diagnosis knows beyond the symptom.
#[derive(Debug, Clone)]
pub struct Context {
    /// The side whose engine reported the failure (its "we").
    pub local: Side,
    /// What AWS accepts in phase 1 (default: [`crate::aws::aws_ike_proposals`]).
    pub aws_ike: Vec<IkeProposal>,
    /// What AWS accepts in phase 2 (default: [`crate::aws::aws_esp_proposals`]
    /// with AWS's PFS groups).
    pub aws_esp: Vec<EspProposal>,
    /// The CGW's phase 1 proposals, when known (empty: unknown).
    pub cgw_ike: Vec<IkeProposal>,
    /// The CGW's phase 2 proposals, when known (empty: unknown).
    pub cgw_esp: Vec<EspProposal>,
    /// The customer gateway IP configured at AWS.
    pub cgw_address: Option<IpAddr>,
    /// The address the CGW actually sends from (after any NAT), if known.
    pub cgw_source: Option<IpAddr>,
    /// The AWS tunnel's outside IP, as configured at the CGW's side.
    pub aws_address: Option<IpAddr>,
    /// AWS initiates the tunnel (startup action `start`); default false
    /// (`add`: the CGW must).
    pub aws_initiates: bool,
}

impl Context {
    /// A context for failures the CGW reported, with AWS's default sets.
    pub fn cgw() -> Context {
        Context::new(Side::Cgw)
    }
    /// A context for failures the AWS mock reported, with AWS's default sets.
    pub fn aws() -> Context {
        Context::new(Side::Aws)
    }
    /// A context for `local` with AWS's default accepted sets and nothing
    /// else known.
    pub fn new(local: Side) -> Context {
        use ike::crypto::DhGroup::*;
        let pfs = [
            Modp1024,
            Modp1536,
            Modp2048,
            Modp3072,
            Modp4096,
            Modp6144,
            Modp8192,
            Ecp256,
            Ecp384,
            Ecp521,
            Modp1024S160,
            Modp2048S224,
            Modp2048S256,
        ];
        Context {
            local,
            aws_ike: crate::aws::aws_ike_proposals(),
            aws_esp: crate::aws::aws_esp_proposals(&pfs),
            cgw_ike: Vec::new(),
            cgw_esp: Vec::new(),
            cgw_address: None,
            cgw_source: None,
            aws_address: None,
            aws_initiates: false,
        }
    }
    /// Sets the CGW's own proposals (to compute what AWS would refuse).
    pub fn with_cgw_proposals(mut self, ike: Vec<IkeProposal>, esp: Vec<EspProposal>) -> Context {
        self.cgw_ike = ike;
        self.cgw_esp = esp;
        self
    }
    /// Sets the configured CGW IP, the CGW's real source and AWS's outside IP.
    pub fn with_addresses(
        mut self,
        cgw_address: Option<IpAddr>,
        cgw_source: Option<IpAddr>,
        aws_address: Option<IpAddr>,
    ) -> Context {
        self.cgw_address = cgw_address;
        self.cgw_source = cgw_source;
        self.aws_address = aws_address;
        self
    }
}

/// A BGP NOTIFICATION as the diagnosis sees it (code, subcode, data).
pub type Notification = bgp::wire::Notification;

/// An observed symptom, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symptom {
    /// A request (IKE_SA_INIT, or IKE_AUTH when `port` is 4500) was never
    /// answered.
    NoResponse {
        /// The address and port the requests went to.
        peer: SocketAddr,
        /// How many times the request was sent.
        tries: u32,
    },
    /// NO_PROPOSAL_CHOSEN.
    NoProposalChosen {
        /// The side that refused (the responder).
        refused_by: Side,
        /// Phase 1 or phase 2.
        phase: Phase,
        /// The first transform type with nothing in common, offered vs
        /// accepted, when known (the refusing responder knows it).
        mismatch: Option<Mismatch>,
        /// The initiator's offer in words, when only that is known.
        offered: Option<String>,
    },
    /// INVALID_KE_PAYLOAD: the responder asked for another DH group.
    InvalidKePayload {
        /// The group asked for (IANA ID).
        requested: u16,
        /// The groups the initiator offered, when known.
        offered: Vec<u16>,
        /// The initiator did not offer the requested group, or asked again
        /// after a retry: the tunnel stays down.
        fatal: bool,
    },
    /// AUTHENTICATION_FAILED.
    AuthenticationFailed {
        /// The side whose check failed.
        rejected_by: Side,
        /// The engine's reason, when known.
        detail: Option<String>,
    },
    /// TS_UNACCEPTABLE.
    TsUnacceptable {
        /// The side that refused.
        refused_by: Side,
        /// The proposed selectors, when known.
        proposed: Option<String>,
        /// The refusing side's configured selectors, when known.
        configured: Option<String>,
    },
    /// A child SA pair beyond the tunnel's first was refused (a
    /// policy-based device asking for one pair per subnet pair).
    AdditionalSaRefused {
        /// The side that refused.
        refused_by: Side,
        /// The refused pair, "ours <-> theirs" as CIDRs.
        pair: String,
        /// The refusal notify, when known ("TS_UNACCEPTABLE").
        notify: Option<String>,
    },
    /// The IKE SA is up but the child SA failed for another reason.
    ChildSaFailed {
        /// The engine's reason.
        reason: String,
    },
    /// Dead peer detection declared the peer dead.
    DpdTimeout {
        /// The action applied.
        action: DpdAction,
        /// Probe retransmissions before the peer was declared dead.
        retransmits: u32,
        /// The side that gave up on its peer.
        detected_by: Side,
    },
    /// The CGW tore an idle tunnel down: no traffic crossed it for the
    /// device's VPN idle time.
    IdleTimeout {
        /// How long the tunnel had been idle.
        idle: std::time::Duration,
        /// Whether AWS initiates the tunnel again (startup action `start`);
        /// with `add` it stays down until traffic from the CGW side.
        aws_initiates: bool,
    },
    /// The tunnel is up, ESP leaves but nothing comes back.
    NoReturnTraffic {
        /// ESP packets sent.
        esp_out: u64,
        /// ESP packets received.
        esp_in: u64,
        /// Echo requests sent.
        pings_sent: u32,
        /// Echo replies received.
        ping_replies: u32,
        /// Whether route propagation is on for the VPC's route table, if
        /// known.
        propagation: Option<bool>,
    },
    /// The BGP session is not Established.
    BgpNotEstablished {
        /// The session's state.
        state: bgp::session::State,
        /// The last NOTIFICATION, if any.
        notification: Option<Notification>,
        /// Who sent it.
        sent_by: Option<Side>,
    },
    /// VPN routes are missing from the VPC route table.
    RoutesMissing {
        /// The prefixes expected but absent.
        prefixes: Vec<String>,
        /// Whether route propagation is on for that table, if known.
        propagation: Option<bool>,
    },
    /// Large packets are lost while small ones pass.
    LargePacketsLost {
        /// The packet size that is lost (bytes, IP).
        size: u16,
        /// Whether DF was set.
        df: bool,
        /// The tunnel's ESP suite, when known, for AWS's MTU.
        suite: Option<(EncrAlg, Option<IntegAlg>)>,
        /// UDP encapsulation (NAT-T) in use.
        nat_t: bool,
    },
    /// Only one of the connection's two tunnels is up.
    SingleTunnel {
        /// The tunnel that is up (1 or 2).
        up: u8,
        /// The tunnel that is down.
        down: u8,
    },
    /// AWS saw nothing from the configured CGW IP (while the CGW says it
    /// sends).
    SourceIpMismatch {
        /// The CGW IP configured at AWS.
        configured: IpAddr,
        /// The source address the packets really carried, if known.
        seen: Option<IpAddr>,
    },
    /// The CGW never initiates (responder-only) while AWS waits for it.
    ResponderOnly,
    /// A route the CGW advertised was not accepted (AWS's BGP log: "DENIED
    /// due to: {reason}").
    RouteDenied {
        /// The prefix.
        prefix: String,
        /// Why.
        reason: bgp::rib::DenyReason,
    },
    /// The CGW's prefix count reached the warning threshold of the limit
    /// (the session is still up).
    PrefixLimitWarning {
        /// Prefixes held.
        count: u32,
        /// The limit.
        limit: u32,
    },
    /// The peer, behind a NAT, now sends from another address or port.
    PeerAddressChanged {
        /// The address and port used until now.
        old: SocketAddr,
        /// The address and port in use from now on.
        new: SocketAddr,
    },
    /// IKE messages of a version the tunnel does not speak (IKEv1 to a
    /// tunnel set to IKEv2, or the reverse).
    IkeVersionMismatch {
        /// The major version received (1 for IKEv1), if known.
        received: Option<u8>,
        /// The versions the tunnel accepts.
        accepted: Vec<u8>,
    },
    /// Another IKE failure (an unexpected notify, a protocol error, a
    /// half-open SA that timed out).
    IkeError {
        /// The engine's reason.
        reason: String,
    },
}

/// Every stable cause code [`Symptom::code`] can return, for scenario
/// files to validate their `cause = "..."` against.
pub const CAUSE_CODES: &[&str] = &[
    "no-response",
    "no-proposal-chosen",
    "invalid-ke-payload",
    "authentication-failed",
    "ts-unacceptable",
    "child-sa-failed",
    "dpd-timeout",
    "idle-timeout",
    "route-propagation-disabled",
    "no-return-traffic",
    "bgp-asn-mismatch",
    "bgp-hold-time-unacceptable",
    "bgp-hold-expired",
    "bgp-max-prefix",
    "bgp-admin-shutdown",
    "bgp-open-error",
    "bgp-notification",
    "bgp-not-established",
    "bgp-own-as-rejected",
    "bgp-route-filtered",
    "bgp-prefix-limit-warning",
    "vpn-routes-missing",
    "mtu-blackhole",
    "single-tunnel",
    "source-ip-mismatch",
    "cgw-responder-only",
    "nat-mapping-changed",
    "ike-version-mismatch",
    "ike-error",
];

/// One likely cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The cause, in words.
    pub text: String,
    /// Its likelihood rank: 1 is the most likely.
    pub rank: u8,
    /// What points at it, if anything specific.
    pub evidence: Option<String>,
}

/// A symptom explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The stable short code of the symptom ("no-proposal-chosen").
    pub code: &'static str,
    /// The symptom in words.
    pub symptom: String,
    /// Likely causes, most likely first.
    pub causes: Vec<Cause>,
    /// What to do, one step a line.
    pub fix: Vec<String>,
}

impl Diagnosis {
    /// The stable short code ("no-proposal-chosen", "bgp-max-prefix", ...).
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// The most likely cause.
    pub fn top_cause(&self) -> Option<&Cause> {
        self.causes.first()
    }
    /// Explains `symptom` in `ctx`.
    pub fn from_symptom(symptom: &Symptom, ctx: &Context) -> Diagnosis {
        knowledge::diagnose(symptom, ctx)
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "symptom: {} [{}]", self.symptom, self.code)?;
        writeln!(f, "likely causes:")?;
        for c in &self.causes {
            writeln!(f, "  {}. {}", c.rank, c.text)?;
            if let Some(e) = &c.evidence {
                writeln!(f, "     evidence: {e}")?;
            }
        }
        writeln!(f, "fix:")?;
        for l in &self.fix {
            writeln!(f, "  - {l}")?;
        }
        Ok(())
    }
}
