//! What an IKE SA is configured with.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::proposal::{EspProposal, IkeProposal, PreferPeer, ProposalPolicy};
use crate::crypto::Secret;
use crate::wire::{IdType, Identification, NotifyType, TrafficSelector};

/// An IKE identity (RFC 7296 3.5). AWS uses the outside IP addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// ID_IPV4_ADDR or ID_IPV6_ADDR.
    Addr(IpAddr),
    /// ID_FQDN.
    Fqdn(String),
    /// ID_RFC822_ADDR.
    Email(String),
    /// ID_KEY_ID.
    KeyId(Vec<u8>),
}

impl Identity {
    /// The Identification payload for this identity.
    pub fn to_wire(&self) -> Identification {
        match self {
            Identity::Addr(IpAddr::V4(a)) => Identification {
                id_type: IdType::IPV4_ADDR,
                data: a.octets().to_vec(),
            },
            Identity::Addr(IpAddr::V6(a)) => Identification {
                id_type: IdType::IPV6_ADDR,
                data: a.octets().to_vec(),
            },
            Identity::Fqdn(s) => Identification {
                id_type: IdType::FQDN,
                data: s.as_bytes().to_vec(),
            },
            Identity::Email(s) => Identification {
                id_type: IdType::RFC822_ADDR,
                data: s.as_bytes().to_vec(),
            },
            Identity::KeyId(k) => Identification {
                id_type: IdType::KEY_ID,
                data: k.clone(),
            },
        }
    }

    /// Whether a received Identification payload names this identity.
    pub fn matches(&self, id: &Identification) -> bool {
        *id == self.to_wire()
    }
}

/// Retransmission of requests (RFC 7296 2.1): the first retransmission
/// after `initial`, each later one after `multiplier` times the previous
/// interval (capped at `max_interval`), and give up after `max_tries`
/// transmissions in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retransmit {
    /// Interval before the first retransmission.
    pub initial: Duration,
    /// Backoff factor.
    pub multiplier: u32,
    /// Longest interval.
    pub max_interval: Duration,
    /// Transmissions of one request before the peer is declared unreachable.
    pub max_tries: u32,
}

impl Default for Retransmit {
    /// strongSwan's defaults, shortened: 2 s doubling, 5 tries (2+4+8+16+32 s).
    fn default() -> Self {
        Retransmit {
            initial: Duration::from_secs(2),
            multiplier: 2,
            max_interval: Duration::from_secs(60),
            max_tries: 5,
        }
    }
}

impl Retransmit {
    /// The wait after transmission number `tries` (1-based).
    pub fn interval(&self, tries: u32) -> Duration {
        let factor = self
            .multiplier
            .max(1)
            .saturating_pow(tries.saturating_sub(1));
        self.initial.saturating_mul(factor).min(self.max_interval)
    }
}

/// What to do when dead peer detection declares the peer dead (AWS's
/// "DPD timeout action"; strongSwan's `dpd_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpdAction {
    /// Close the IKE SA and its child SA (AWS's default).
    Clear,
    /// Close, then start a fresh IKE SA to the same peer as initiator (new
    /// SPIs, new IKE_SA_INIT). The [`super::IkeSa`] re-initialises itself in
    /// place, so an [`super::Endpoint`] keeps the same [`super::SaId`].
    Restart,
    /// Keep the SA as it is and stop probing until traffic from the peer
    /// resumes.
    None,
}

/// Dead peer detection (RFC 7296 2.4): after `delay` without any
/// authenticated IKE message or inbound ESP from the peer, send an empty
/// INFORMATIONAL request (retransmitted with the usual backoff); if nothing
/// answers within `timeout` of that first probe, the peer is dead and
/// `action` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dpd {
    /// Silence before the first probe.
    pub delay: Duration,
    /// How long after the first unanswered probe the peer is declared dead.
    pub timeout: Duration,
    /// What happens then.
    pub action: DpdAction,
}

impl Dpd {
    /// AWS's tunnel endpoint: it probes after about 10 s of silence and
    /// declares the peer dead 30 s after the first unanswered probe (the
    /// "DPD timeout" tunnel option, >= 30 s, default 30), then clears the
    /// tunnel (the default "DPD timeout action").
    pub fn aws() -> Dpd {
        Dpd {
            delay: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            action: DpdAction::Clear,
        }
    }
}

/// SA lifetimes (AWS's tunnel options "phase 1/2 lifetime", "rekey
/// margin", "rekey fuzz"): an SA is rekeyed at lifetime - margin -
/// random(0, margin x fuzz) and gone at its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// IKE SA (phase 1) lifetime.
    pub ike: Duration,
    /// Child SA (phase 2) lifetime.
    pub child: Duration,
    /// How long before the lifetime a rekey starts.
    pub margin: Duration,
    /// Random extra margin, in percent of `margin`.
    pub fuzz_percent: u32,
}

impl Default for Lifetimes {
    /// AWS's defaults: 28800 s, 3600 s, margin 270 s, fuzz 100 %.
    fn default() -> Self {
        Lifetimes {
            ike: Duration::from_secs(28800),
            child: Duration::from_secs(3600),
            margin: Duration::from_secs(270),
            fuzz_percent: 100,
        }
    }
}

/// The configuration of one IKE SA and its child SA, either role.
#[derive(Debug, Clone)]
pub struct IkeConfig {
    /// The pre-shared key (never logged).
    pub psk: Secret,
    /// Our identity; `None` uses our outside address.
    pub local_id: Option<Identity>,
    /// The identity we require of the peer; `None` accepts any.
    pub remote_id: Option<Identity>,
    /// IKE proposals, offered (initiator) or accepted (responder) in order.
    pub ike_proposals: Vec<IkeProposal>,
    /// Child SA proposals.
    pub esp_proposals: Vec<EspProposal>,
    /// Our traffic selectors (TSi as initiator, TSr as responder).
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// How a responder chooses among offered transforms.
    pub policy: Arc<dyn ProposalPolicy>,
    /// Retransmission of our requests.
    pub retransmit: Retransmit,
    /// Always float to UDP 4500 and encapsulate ESP, as if behind a NAT
    /// (we send a NAT_DETECTION_SOURCE_IP that cannot match).
    pub force_encapsulation: bool,
    /// Length of our nonces (16..=256; 32 by default).
    pub nonce_len: usize,
    /// Send INITIAL_CONTACT in IKE_AUTH.
    pub initial_contact: bool,
    /// How long a responder keeps an IKE SA whose IKE_AUTH has not come.
    pub half_open_timeout: Duration,
    /// UDP port for IKE before NAT traversal (500).
    pub ike_port: u16,
    /// UDP port after the float (4500).
    pub natt_port: u16,
    /// Offer IKE fragmentation (RFC 7383): send
    /// IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT. Fragments are sent and
    /// accepted only when both sides offered it.
    pub fragmentation: bool,
    /// Largest IKE message we send unfragmented once fragmentation is
    /// negotiated, in bytes: IKE header to ICV, plus the 4-byte non-ESP
    /// marker on the NAT-T port (not the IP and UDP headers, unlike
    /// strongSwan's `charon.fragment_size`). Larger encrypted messages go
    /// out as Encrypted Fragment payloads of at most this size. 1280 by
    /// default, strongSwan's choice for IPv4.
    pub fragment_size: usize,
    /// Dead peer detection; `None` (the default) never probes, but peers'
    /// probes are always answered.
    pub dpd: Option<Dpd>,
    /// SA lifetimes and rekey timing.
    pub lifetimes: Lifetimes,
    /// Responder: once this many IKE SAs are half-open (IKE_SA_INIT
    /// answered, IKE_AUTH not yet come), new IKE_SA_INIT requests are
    /// answered statelessly with a COOKIE (RFC 7296 2.6); 0 always demands
    /// one.
    pub cookie_threshold: usize,
    /// Responder: how long a cookie secret lives; a cookie made with the
    /// previous secret is still accepted for one more period.
    pub cookie_secret_lifetime: Duration,
    /// Responder: the hard limit on half-open IKE SAs; past it, IKE_SA_INIT
    /// requests are dropped (and counted), cookie or not.
    pub half_open_limit: usize,
    /// Interval of NAT keepalives (RFC 3948 2.3) when we are behind a NAT:
    /// sent only after this long without sending anything to the peer.
    /// `None` disables them.
    pub natt_keepalive: Option<Duration>,
    /// Responder: how many child SA pairs one IKE SA may hold (a rekey's
    /// successor does not count); a CREATE_CHILD_SA request for one more
    /// is refused with [`IkeConfig::extra_child_refusal`]. 1 by default:
    /// the pair made in IKE_AUTH and no other, as AWS keeps it.
    pub max_child_sas: usize,
    /// The notify that refuses a child SA over [`IkeConfig::max_child_sas`]
    /// (NO_ADDITIONAL_SAS, RFC 7296's word for it, by default).
    pub extra_child_refusal: NotifyType,
}

impl IkeConfig {
    /// A configuration with AWS's own defaults apart from the proposals
    /// and selectors, which the caller sets: PSK auth with address IDs,
    /// 0.0.0.0/0 selectors both ways, the peer's proposal order respected.
    pub fn new(
        psk: Secret,
        ike_proposals: Vec<IkeProposal>,
        esp_proposals: Vec<EspProposal>,
    ) -> IkeConfig {
        IkeConfig {
            psk,
            local_id: None,
            remote_id: None,
            ike_proposals,
            esp_proposals,
            local_ts: vec![super::selectors::any_ipv4()],
            remote_ts: vec![super::selectors::any_ipv4()],
            policy: Arc::new(PreferPeer),
            retransmit: Retransmit::default(),
            force_encapsulation: false,
            nonce_len: 32,
            initial_contact: true,
            half_open_timeout: Duration::from_secs(30),
            ike_port: 500,
            natt_port: 4500,
            fragmentation: true,
            fragment_size: 1280,
            dpd: None,
            lifetimes: Lifetimes::default(),
            cookie_threshold: 32,
            cookie_secret_lifetime: Duration::from_secs(300),
            half_open_limit: 1024,
            natt_keepalive: Some(Duration::from_secs(20)),
            max_child_sas: 1,
            extra_child_refusal: NotifyType::NO_ADDITIONAL_SAS,
        }
    }
}
