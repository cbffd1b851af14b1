//! [`TunnelGateway`]: an IPsec gateway as a [`lab::Node`].
//!
//! Two interfaces: [`OUTSIDE`] (the gateway's outer address, towards "the
//! internet") and [`INSIDE`] (towards a LAN). One [`ike::sa::Endpoint`]
//! serves N route-based tunnels, each to one peer outer address with an
//! inside /30 (AWS's tunnel inside addresses). IKE travels in UDP 500/4500;
//! ESP in UDP 4500 when the child SA says so (`ChildSaInfo::encapsulation`),
//! raw (IP protocol 50) otherwise.
//!
//! The data plane of each tunnel follows the engine's events the way
//! `ike/tests/common/duo.rs` does: a new pair is installed at once, traffic
//! is sent on the newest outbound SA, an inbound SA the engine deleted is
//! kept until a newer one has carried traffic.
//!
//! Forwarding: an inner IPv4 packet from the inside interface (or made by
//! the gateway) goes into the tunnel its destination routes to (longest
//! prefix of the route table, [`TunnelGateway::set_route`]; each tunnel's
//! inside /30 is an implicit route to it). A decapsulated packet leaves on
//! the inside interface, unless it is addressed to one of the gateway's
//! inside addresses: then the gateway answers ICMP echo itself. The
//! gateway's own packets that match no tunnel route (answers to LAN hosts
//! that pinged it) leave on the inside interface.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ike::esp::{InboundSa, OutboundSa, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6};
use ike::sa::{DeletedBy, Endpoint, Event, Failure, IkeConfig, Received, SaId};
use ike::wire::TrafficSelector;
use lab::wire::{self, Ipv4Info, Prefix, PROTO_ESP, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use lab::{IfaceId, Node};

use super::idle::IdleTimer;
use super::ikev1::{V1Attempt, V1Outcome};
use super::keylog::KeyLog;
use super::out_queue::{OutQueue, Transmit};

/// The outside interface (outer packets: IKE and ESP).
pub const OUTSIDE: IfaceId = IfaceId(0);
/// The inside interface (inner packets, towards the LAN).
pub const INSIDE: IfaceId = IfaceId(1);
/// The control-plane interface: the gateway's own TCP/IP host (a
/// [`crate::node::BgpHost`]) holding the tunnels' inside addresses. TCP
/// from a tunnel to an inside address leaves here; what the host sends
/// comes in here and is routed like the gateway's own packets.
pub const CONTROL: IfaceId = IfaceId(2);

/// The interface of tunnel `t` when the gateway uses one interface per
/// tunnel ([`TunnelGateway::use_tunnel_interfaces`]): what a TUN device is
/// on a real host. Interfaces 3, 4, ...
pub fn tunnel_iface(t: TunnelId) -> IfaceId {
    IfaceId(3 + u16::try_from(t.0).unwrap_or(u16::MAX - 3))
}

/// Anti-replay window of inbound SAs (AWS's default).
const REPLAY_WINDOW: u32 = 1024;

/// The outer packets' MTU: Ethernet's 1500, as on AWS's side (no jumbo
/// frames over the internet), from which [`TunnelGateway::tunnel_mtu`]
/// takes the ESP overhead.
pub const OUTER_MTU: usize = 1500;

/// Names a tunnel of a [`TunnelGateway`] (its index in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub usize);

/// Whether a tunnel starts IKE or waits for the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelRole {
    /// Starts the IKE SA when [`TunnelGateway::initiate`] is called.
    Initiator,
    /// Only answers the peer's IKE_SA_INIT.
    Responder,
}

/// One route-based tunnel.
#[derive(Debug, Clone)]
pub struct TunnelConfig {
    /// The peer's outer address.
    pub peer: Ipv4Addr,
    /// Our inside address (in the tunnel's /30).
    pub inside_local: Ipv4Addr,
    /// The peer's inside address (in the same /30).
    pub inside_remote: Ipv4Addr,
    /// The IKE and child SA configuration.
    pub ike: Arc<IkeConfig>,
    /// Initiator or responder.
    pub role: TunnelRole,
    /// `Some`: the tunnel speaks only IKEv1 and offers these phase 1
    /// suites in Main Mode. Only the first message exists (see
    /// `node::ikev1`): enough to meet an IKEv2-only peer's refusal.
    pub ikev1: Option<Vec<ike::ikev1::Suite>>,
    /// Clear DF on inner packets larger than the tunnel's MTU and fragment
    /// them before encryption (AWS's advice); false: such packets with DF
    /// set are dropped with an ICMP "fragmentation needed".
    pub clear_df: bool,
    /// Clamp the MSS option of TCP SYNs crossing the tunnel, both ways, to
    /// this (`ip tcp adjust-mss`); `None`: no clamping.
    pub mss_clamp: Option<u16>,
    /// Delete the tunnel's IKE SA after this long without traffic in
    /// either direction (a CGW's "VPN idle time"; see `node::idle`), and
    /// start IKE again when traffic for the tunnel arrives. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Further child SA pairs (our selectors, the peer's), asked for by
    /// CREATE_CHILD_SA one after the other once the IKE SA is up: a
    /// policy-based device's other subnet pairs, the first pair being
    /// `ike.local_ts`/`ike.remote_ts` in IKE_AUTH. Empty when route-based.
    pub extra_selectors: Vec<SelectorPair>,
}

/// A child SA pair's selectors: (ours, the peer's).
pub type SelectorPair = (Vec<TrafficSelector>, Vec<TrafficSelector>);

/// A gateway's configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The outer address (on [`OUTSIDE`]).
    pub outer: Ipv4Addr,
    /// The tunnels, numbered by position ([`TunnelId`]).
    pub tunnels: Vec<TunnelConfig>,
    /// Seeds the IKE endpoint and the ESP IVs: one seed, one run.
    pub seed: [u8; 32],
}

/// Why a tunnel went (or stayed) down: the engine's typed results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownCause {
    /// The IKE SA could not be established, or was torn down by an error.
    IkeFailed(Failure),
    /// The IKE SA is up but its child SA could not be created.
    ChildFailed(Failure),
    /// Dead peer detection declared the peer dead.
    DpdTimeout {
        /// Retransmissions of the probe.
        retransmits: u32,
    },
    /// The last child SA pair was deleted.
    ChildDeleted(DeletedBy),
    /// The gateway deleted the IKE SA because no traffic crossed the tunnel
    /// for its idle timeout ([`TunnelConfig::idle_timeout`]).
    IdleTimeout {
        /// How long the tunnel had been idle.
        idle: Duration,
    },
    /// The IKE SA was closed.
    IkeClosed(DeletedBy),
    /// The peer refused our IKE version (an IKEv1 Main Mode answered with
    /// INVALID_MAJOR_VERSION).
    IkeVersionMismatch {
        /// The version we spoke.
        ours: u8,
        /// The major version of the peer's answer (the one it speaks).
        peer: u8,
    },
}

/// What happened to a tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelEventKind {
    /// The IKE SA is established.
    IkeUp {
        /// What NAT detection found (the AWS logs' `nat_t_detected`).
        nat_t_detected: bool,
    },
    /// The first child SA pair is installed: traffic can flow.
    Up,
    /// A child SA pair replaced another (rekey); the tunnel stays up.
    ChildRekeyed {
        /// Inbound SPI of the new pair.
        spi_in: u32,
        /// Inbound SPI of the pair it replaces.
        replaces: u32,
    },
    /// The IKE SA was rekeyed.
    IkeRekeyed,
    /// A child SA pair beyond the first was refused (by the peer, or by
    /// us as responder); the tunnel's other pairs are unaffected.
    ChildRefused {
        /// The engine's reason.
        failure: Failure,
        /// The initiator's selectors (TSi) of the refused pair.
        tsi: Vec<TrafficSelector>,
        /// The responder's selectors (TSr).
        tsr: Vec<TrafficSelector>,
    },
    /// Both ends rekeyed the same child SA pair at once (RFC 7296 2.8.1);
    /// one of the two new pairs is deleted as redundant.
    ChildRekeyCollision {
        /// Whether we delete the redundant new pair (else the old one).
        we_delete_redundant: bool,
    },
    /// A child SA pair was deleted (a rekey's old pair, or one deleted by
    /// either side); a `Down` event follows when it was the last pair.
    ChildRemoved {
        /// Our outbound SPI of the pair: the SPI the peer names in its
        /// Delete payload (its inbound SPI). `None` if the pair had no
        /// outbound SA in the data plane.
        spi_out: Option<u32>,
        /// Who deleted it.
        by: DeletedBy,
    },
    /// A failure or a deletion. `was_up` tells whether the tunnel carried
    /// traffic until now (false for a failure while coming up).
    Down {
        /// What the engine reported.
        cause: DownCause,
        /// Whether the tunnel was up just before.
        was_up: bool,
    },
}

/// One entry of a gateway's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// When it happened (virtual time).
    pub at: Instant,
    /// Which tunnel.
    pub tunnel: TunnelId,
    /// What happened.
    pub kind: TunnelEventKind,
}

/// Counters of a [`TunnelGateway`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// IKE datagrams sent.
    pub ike_sent: u64,
    /// IKE datagrams received (handed to the endpoint).
    pub ike_received: u64,
    /// IKE datagrams from an address that is no tunnel's peer (dropped
    /// silently, as AWS does).
    pub unknown_peer: u64,
    /// ESP packets sent in UDP 4500.
    pub esp_udp_sent: u64,
    /// ESP packets sent raw (IP protocol 50).
    pub esp_raw_sent: u64,
    /// ESP packets received in UDP 4500.
    pub esp_udp_received: u64,
    /// ESP packets received raw.
    pub esp_raw_received: u64,
    /// ESP packets opened (authenticated and decrypted).
    pub decapsulated: u64,
    /// ESP packets for an SPI we do not (or no longer) have.
    pub no_inbound: u64,
    /// ESP packets that failed to open (integrity, replay, format).
    pub open_errors: u64,
    /// Inner packets routed to a tunnel without an outbound SA.
    pub no_outbound: u64,
    /// Inner packets without a route.
    pub no_route: u64,
    /// Inner packets forwarded out of the inside interface.
    pub to_inside: u64,
    /// Inner packets whose TTL ran out.
    pub ttl_expired: u64,
    /// Packets addressed to the gateway itself (inner or outer).
    pub local: u64,
    /// ICMP echo replies the gateway sent.
    pub echo_replies: u64,
    /// Packets that did not parse, or outer packets not for us.
    pub malformed: u64,
    /// Inner TCP packets handed to the control-plane host.
    pub to_control: u64,
    /// TCP SYNs whose MSS option was lowered (`set_mss_clamp`).
    pub mss_clamped: u64,
    /// Inner packets over the tunnel MTU with DF set, refused with an ICMP
    /// "fragmentation needed".
    pub frag_needed_sent: u64,
    /// Inner packets over the tunnel MTU fragmented before encryption.
    pub fragmented: u64,
}

/// The largest inner packet `sa` seals into an [`OUTER_MTU`]-byte IPv4
/// packet, raw or in UDP (NAT-T).
fn inner_mtu(sa: &OutboundSa, udp: bool) -> usize {
    sa.max_inner_len(OUTER_MTU - 20 - if udp { 8 } else { 0 })
}

/// UDP encapsulation of an outbound SA: (our address, the peer's), or raw.
type Encapsulation = Option<(SocketAddr, SocketAddr)>;

/// One tunnel's data plane, as in `ike/tests/common/duo.rs`.
#[derive(Default)]
struct DataPlane {
    /// (our inbound SPI, SA, packets received on it)
    inbound: Vec<(u32, InboundSa, u64)>,
    /// (our inbound SPI of the pair, outbound SA, encapsulation); the last
    /// is in use.
    outbound: Vec<(u32, OutboundSa, Encapsulation)>,
    /// Inbound SAs deleted by the engine but kept until a newer inbound SA
    /// has received a packet.
    lingering: Vec<u32>,
    /// (our inbound SPI of the pair, our selectors, the peer's) of each
    /// outbound SA: a packet goes on the newest pair whose selectors hold
    /// its source and destination.
    selectors: Vec<(u32, SelectorPair)>,
}

impl DataPlane {
    /// Drops lingering inbound SAs once a newer one has carried traffic;
    /// returns their SPIs. Called per received packet: nothing to do in
    /// the common case of no lingering SA.
    fn reap(&mut self) -> Vec<u32> {
        if self.lingering.is_empty() {
            return Vec::new();
        }
        let inbound = &self.inbound;
        let lingering = &self.lingering;
        let keep: Vec<u32> = lingering
            .iter()
            .copied()
            .filter(|spi| {
                let Some(pos) = inbound.iter().position(|(s, _, _)| s == spi) else {
                    return false;
                };
                !inbound[pos + 1..]
                    .iter()
                    .any(|(s, _, n)| *n > 0 && !lingering.contains(s))
            })
            .collect();
        let gone: Vec<u32> = lingering
            .iter()
            .copied()
            .filter(|s| !keep.contains(s))
            .collect();
        self.inbound.retain(|(s, _, _)| !gone.contains(s));
        self.lingering = keep;
        gone
    }

    fn is_up(&self) -> bool {
        !self.outbound.is_empty()
    }

    /// The outbound SA (index into `outbound`) for a packet from `src` to
    /// `dst`: the newest whose pair's selectors hold both addresses (only
    /// addresses are compared: our pairs are whole subnets).
    fn outbound_for(&self, src: IpAddr, dst: IpAddr) -> Option<usize> {
        let holds = |ts: &[TrafficSelector], a: IpAddr| {
            ts.iter().any(|t| match (t.start_addr, t.end_addr, a) {
                (IpAddr::V4(lo), IpAddr::V4(hi), IpAddr::V4(a)) => lo <= a && a <= hi,
                (IpAddr::V6(lo), IpAddr::V6(hi), IpAddr::V6(a)) => lo <= a && a <= hi,
                _ => false,
            })
        };
        self.outbound.iter().rposition(|(spi, _, _)| {
            self.selectors
                .iter()
                .find(|(s, _)| s == spi)
                .is_none_or(|(_, (l, r))| holds(l, src) && holds(r, dst))
        })
    }
}

/// What one drained batch of engine events did to a tunnel.
#[derive(Debug, Clone, Copy, Default)]
struct Batch {
    /// A failure (or DPD timeout) was logged as a `Down` event already.
    failure_reported: bool,
    /// The IKE SA closed.
    ike_closed: Option<DeletedBy>,
    /// A child SA pair was deleted.
    child_deleted: Option<DeletedBy>,
}

struct Tunnel {
    cfg: TunnelConfig,
    dp: DataPlane,
    last_failure: Option<DownCause>,
    /// The IKEv1 attempt under way, for an IKEv1-only tunnel.
    v1: Option<V1Attempt>,
    /// The idle timeout's timer.
    idle: IdleTimer,
    /// How long the tunnel was idle when its idle timeout expired, until
    /// the `Down` it causes is reported.
    idle_for: Option<Duration>,
    /// `cfg.extra_selectors` not yet asked for on the current IKE SA.
    extra_pending: Vec<SelectorPair>,
    /// ESP carried since the gateway started (across SAs).
    traffic: TunnelTraffic,
}

/// ESP a tunnel carried since the gateway started, across its SAs: inner
/// packets and their bytes (an SA's own counts restart with each rekey).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunnelTraffic {
    /// Packets decrypted.
    pub packets_in: u64,
    /// Packets encrypted and sent.
    pub packets_out: u64,
    /// Inner bytes decrypted.
    pub bytes_in: u64,
    /// Inner bytes encrypted.
    pub bytes_out: u64,
}

/// An IPsec gateway node. See the module documentation.
pub struct TunnelGateway {
    outer: Ipv4Addr,
    endpoint: Endpoint,
    tunnels: Vec<Tunnel>,
    routes: Vec<(Prefix, TunnelId)>,
    /// Which tunnel each IKE SA belongs to.
    sa_tunnel: Vec<(SaId, TunnelId)>,
    /// Which tunnel holds each inbound SPI: the per-packet lookup, which
    /// must not scan every tunnel when a gateway terminates many (the AWS
    /// side of a fleet).
    spi_tunnel: HashMap<u32, usize>,
    out: OutQueue,
    /// Where a received ESP packet is opened in place (reused: no
    /// allocation per packet).
    rx_buf: Vec<u8>,
    /// Where an inner packet whose MSS may be clamped is copied first.
    tx_buf: Vec<u8>,
    events: Vec<GatewayEvent>,
    stats: GatewayStats,
    /// Packets addressed to the gateway's inside addresses, other than
    /// echo requests (kept for tests and probes).
    received_local: Vec<(Instant, Vec<u8>)>,
    iv_seed: [u8; 32],
    iv_counter: u64,
    /// A control-plane host is attached on [`CONTROL`].
    control: bool,
    /// One interface per tunnel ([`tunnel_iface`]) instead of a route
    /// table and [`INSIDE`].
    tunnel_ifaces: bool,
    /// The keys negotiated so far, only when asked for (a capture).
    keylog: Option<KeyLog>,
}

impl std::fmt::Debug for TunnelGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelGateway")
            .field("outer", &self.outer)
            .field("tunnels", &self.tunnels.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TunnelGateway {
    /// A gateway with no SA yet. The IKE endpoint answers each responder
    /// tunnel's peer with that tunnel's configuration; initiator tunnels'
    /// peers and unknown addresses get no answer.
    pub fn new(cfg: GatewayConfig) -> TunnelGateway {
        let responder = cfg
            .tunnels
            .iter()
            .find(|t| t.role == TunnelRole::Responder)
            .map(|t| t.ike.clone());
        let mut iv_seed = cfg.seed;
        iv_seed[0] ^= 0x5a;
        let mut endpoint = Endpoint::new(responder, cfg.seed);
        for t in cfg
            .tunnels
            .iter()
            .filter(|t| t.role == TunnelRole::Responder)
        {
            endpoint.set_responder_for(IpAddr::V4(t.peer), t.ike.clone());
        }
        TunnelGateway {
            outer: cfg.outer,
            endpoint,
            tunnels: cfg
                .tunnels
                .into_iter()
                .map(|c| Tunnel {
                    idle: IdleTimer::new(c.idle_timeout),
                    idle_for: None,
                    cfg: c,
                    dp: DataPlane::default(),
                    last_failure: None,
                    v1: None,
                    extra_pending: Vec::new(),
                    traffic: TunnelTraffic::default(),
                })
                .collect(),
            routes: Vec::new(),
            sa_tunnel: Vec::new(),
            spi_tunnel: HashMap::new(),
            out: OutQueue::default(),
            rx_buf: Vec::new(),
            tx_buf: Vec::new(),
            events: Vec::new(),
            stats: GatewayStats::default(),
            received_local: Vec::new(),
            iv_seed,
            iv_counter: 0,
            control: false,
            tunnel_ifaces: false,
            keylog: None,
        }
    }

    /// Hands TCP addressed to the tunnels' inside addresses to the host
    /// linked to [`CONTROL`] (BGP runs there), instead of keeping it in
    /// [`TunnelGateway::received_local`].
    pub fn attach_control_plane(&mut self) {
        self.control = true;
    }

    /// Switches to one interface per tunnel, as on a host with a TUN
    /// device per tunnel: a packet arriving on [`tunnel_iface`]`(t)` goes
    /// into tunnel `t` (the host's routing chose the device), and what
    /// tunnel `t` decapsulates leaves on that interface whole, addressed to
    /// the gateway's inside address or not (the host's stack owns the
    /// inside address, answers pings and runs BGP; it also forwards and
    /// decrements the TTL). [`INSIDE`], [`CONTROL`] and the route table are
    /// unused then.
    pub fn use_tunnel_interfaces(&mut self) {
        self.tunnel_ifaces = true;
    }

    /// Whether a control-plane host is attached.
    pub fn has_control_plane(&self) -> bool {
        self.control
    }

    /// Starts (or, with `None`, stops) recording the keys of the IKE and
    /// child SAs from now on, starting from `log` (the log of a previous
    /// life of this gateway, or an empty one). For captures the user asked
    /// for: the keys decrypt every packet of the run.
    pub fn set_key_log(&mut self, log: Option<KeyLog>) {
        self.keylog = log;
        if let Some(k) = &mut self.keylog {
            k.note_ike_sas(&self.endpoint);
        }
    }

    /// The keys recorded since [`TunnelGateway::set_key_log`], if on.
    pub fn key_log(&self) -> Option<&KeyLog> {
        self.keylog.as_ref()
    }

    /// Takes the key log out, leaving recording off.
    pub fn take_key_log(&mut self) -> Option<KeyLog> {
        self.keylog.take()
    }

    /// Starts tunnel `tunnel`'s IKE SA as initiator at `now` (whatever its
    /// configured role). Returns false if there is no such tunnel.
    pub fn initiate(&mut self, tunnel: TunnelId, now: Instant) -> bool {
        let Some(t) = self.tunnels.get(tunnel.0) else {
            return false;
        };
        let cfg = t.cfg.ike.clone();
        let local = SocketAddr::new(IpAddr::V4(self.outer), cfg.ike_port);
        let remote = SocketAddr::new(IpAddr::V4(t.cfg.peer), cfg.ike_port);
        if let Some(suites) = t.cfg.ikev1.clone() {
            self.initiate_v1(now, tunnel, &suites, local, remote);
            return true;
        }
        let id = self.endpoint.initiate(cfg, local, remote, now);
        self.sa_tunnel.push((id, tunnel));
        self.pump(now);
        true
    }

    /// Replaces `tunnel`'s lifetimes (and rekey margin and fuzz) from
    /// `now` on: for its next initiation, for new responder SAs when it is
    /// the responder tunnel, and for what its live IKE SAs install next
    /// (SAs already installed keep their deadlines). False if there is no
    /// such tunnel.
    pub fn set_lifetimes(&mut self, tunnel: TunnelId, lifetimes: ike::sa::Lifetimes) -> bool {
        let Some(t) = self.tunnels.get_mut(tunnel.0) else {
            return false;
        };
        let mut c = (*t.cfg.ike).clone();
        c.lifetimes = lifetimes;
        t.cfg.ike = Arc::new(c);
        let peer = IpAddr::V4(t.cfg.peer);
        let responder = self
            .tunnels
            .iter()
            .position(|t| t.cfg.role == TunnelRole::Responder);
        if responder == Some(tunnel.0) {
            self.endpoint
                .set_responder(Some(self.tunnels[tunnel.0].cfg.ike.clone()));
        }
        if self.tunnels[tunnel.0].cfg.role == TunnelRole::Responder {
            self.endpoint
                .set_responder_for(peer, self.tunnels[tunnel.0].cfg.ike.clone());
        }
        let ids: Vec<SaId> = self
            .endpoint
            .sas()
            .filter(|(_, sa)| sa.remote_addr().ip() == peer)
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            if let Some(sa) = self.endpoint.sa_mut(id) {
                sa.set_lifetimes(lifetimes);
            }
        }
        true
    }

    /// The lifetimes `tunnel` uses for what it negotiates next.
    pub fn lifetimes(&self, tunnel: TunnelId) -> Option<ike::sa::Lifetimes> {
        self.tunnels.get(tunnel.0).map(|t| t.cfg.ike.lifetimes)
    }

    /// Starts (or restarts) an IKEv1-only tunnel's Main Mode attempt.
    fn initiate_v1(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        suites: &[ike::ikev1::Suite],
        local: SocketAddr,
        remote: SocketAddr,
    ) {
        // A nonzero initiator cookie from the gateway's seeded sequence.
        let seed = self.next_iv_seed();
        let cookie = u64::from_be_bytes(seed[..8].try_into().expect("8 bytes")).max(1);
        let schedule = self.tunnels[tunnel.0].cfg.ike.retransmit;
        match V1Attempt::start(now, cookie, suites, schedule) {
            Ok((a, datagram)) => {
                self.tunnels[tunnel.0].v1 = Some(a);
                self.send_ike(local, remote, &datagram);
            }
            Err(_) => self.stats.malformed += 1,
        }
    }

    fn send_ike(&mut self, local: SocketAddr, remote: SocketAddr, payload: &[u8]) {
        if let (SocketAddr::V4(l), SocketAddr::V4(r)) = (local, remote) {
            self.stats.ike_sent += 1;
            self.out.push_datagram(l, r, payload);
        }
    }

    /// Runs the IKEv1 attempts' retransmission timers.
    fn v1_timeouts(&mut self, now: Instant) {
        for i in 0..self.tunnels.len() {
            let Some(outcome) = self.tunnels[i].v1.as_mut().and_then(|a| a.on_timeout(now)) else {
                continue;
            };
            let t = &self.tunnels[i];
            let port = t.cfg.ike.ike_port;
            let local = SocketAddr::new(IpAddr::V4(self.outer), port);
            let remote = SocketAddr::new(IpAddr::V4(t.cfg.peer), port);
            match outcome {
                V1Outcome::Resend(d) => self.send_ike(local, remote, &d),
                V1Outcome::NoResponse(tries) => {
                    self.tunnels[i].v1 = None;
                    let f = Failure::NoResponse {
                        peer: remote,
                        tries,
                    };
                    self.down(now, TunnelId(i), DownCause::IkeFailed(f), false);
                }
                V1Outcome::VersionRefused(_) => {}
            }
        }
    }

    /// Deletes the IKE SAs of tunnels idle for their idle timeout (the
    /// Delete goes to the peer; the `Down` follows with its answer).
    fn idle_timeouts(&mut self, now: Instant) {
        for i in 0..self.tunnels.len() {
            let Some(idle) = self.tunnels[i].idle.expire(now) else {
                continue;
            };
            self.tunnels[i].idle_for = Some(idle);
            let peer = IpAddr::V4(self.tunnels[i].cfg.peer);
            let ids: Vec<SaId> = self
                .endpoint
                .sas()
                .filter(|(_, sa)| sa.remote_addr().ip() == peer && !sa.is_closed())
                .map(|(id, _)| id)
                .collect();
            for id in ids {
                if let Some(sa) = self.endpoint.sa_mut(id) {
                    // An SA not established (a rekey's half) refuses; the
                    // established one's Delete ends the tunnel.
                    let _ = sa.delete_ike(now);
                }
            }
        }
    }

    /// Starts every tunnel configured as [`TunnelRole::Initiator`].
    pub fn initiate_all(&mut self, now: Instant) {
        for i in 0..self.tunnels.len() {
            if self.tunnels[i].cfg.role == TunnelRole::Initiator {
                self.initiate(TunnelId(i), now);
            }
        }
    }

    /// Routes `prefix` into `tunnel` (replacing any route to exactly
    /// `prefix`). Longest prefix wins.
    pub fn set_route(&mut self, prefix: Prefix, tunnel: TunnelId) {
        self.routes.retain(|r| r.0 != prefix);
        self.routes.push((prefix, tunnel));
    }

    /// Removes the route to exactly `prefix`; true if there was one.
    pub fn remove_route(&mut self, prefix: Prefix) -> bool {
        let before = self.routes.len();
        self.routes.retain(|r| r.0 != prefix);
        before != self.routes.len()
    }

    /// The route table (without the implicit inside /30 routes).
    pub fn routes(&self) -> &[(Prefix, TunnelId)] {
        &self.routes
    }

    /// The tunnel a packet to `dst` goes into: the longest matching route,
    /// or the tunnel whose inside /30 holds `dst`.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<TunnelId> {
        let implicit = self
            .tunnels
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Prefix::new(t.cfg.inside_local, 30).map(|p| (p, TunnelId(i))));
        let mut best: Option<(Prefix, TunnelId)> = None;
        for (p, t) in self.routes.iter().copied().chain(implicit) {
            if p.contains(dst) && best.is_none_or(|b| p.len() > b.0.len()) {
                best = Some((p, t));
            }
        }
        best.map(|b| b.1)
    }

    /// Whether `tunnel` has an outbound child SA (can carry traffic).
    pub fn is_up(&self, tunnel: TunnelId) -> bool {
        self.tunnels.get(tunnel.0).is_some_and(|t| t.dp.is_up())
    }

    /// The last failure or deletion reported for `tunnel`, if any.
    pub fn last_failure(&self, tunnel: TunnelId) -> Option<&DownCause> {
        self.tunnels.get(tunnel.0)?.last_failure.as_ref()
    }

    /// The inbound SPIs of `tunnel`'s live and lingering SAs, oldest first.
    pub fn inbound_spis(&self, tunnel: TunnelId) -> Vec<u32> {
        self.tunnels.get(tunnel.0).map_or(Vec::new(), |t| {
            t.dp.inbound.iter().map(|(s, _, _)| *s).collect()
        })
    }

    /// Every tunnel event so far, oldest first.
    pub fn events(&self) -> &[GatewayEvent] {
        &self.events
    }

    /// Takes the events gathered so far (a long-running daemon drains them,
    /// so the log does not grow without bound).
    pub fn take_events(&mut self) -> Vec<GatewayEvent> {
        std::mem::take(&mut self.events)
    }

    /// Deletes every IKE SA (and with it every child SA) with an
    /// INFORMATIONAL Delete to the peer: a clean shutdown. Returns how many
    /// deletes were started; the packets come out of `poll_transmit`.
    pub fn close_all(&mut self, now: Instant) -> usize {
        let ids: Vec<SaId> = self.endpoint.sas().map(|(id, _)| id).collect();
        let mut started = 0;
        for id in ids {
            if let Some(sa) = self.endpoint.sa_mut(id) {
                if sa.delete_ike(now).is_ok() {
                    started += 1;
                }
            }
        }
        self.pump(now);
        started
    }

    /// What `tunnel` carried since the gateway started.
    pub fn tunnel_traffic(&self, tunnel: TunnelId) -> TunnelTraffic {
        self.tunnels
            .get(tunnel.0)
            .map_or_else(TunnelTraffic::default, |t| t.traffic)
    }

    /// Counters.
    pub fn stats(&self) -> GatewayStats {
        self.stats
    }

    /// The IKE endpoint (to read SAs, or to call `delete_child` through
    /// `sa_mut`; call [`TunnelGateway::handle_timeout`] afterwards, or use
    /// `Sim::with_node`, so that its output is sent).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The IKE endpoint, mutably.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// Packets addressed to the gateway's inside addresses that it did not
    /// answer itself (echo replies to its own pings, for instance).
    pub fn received_local(&self) -> &[(Instant, Vec<u8>)] {
        &self.received_local
    }

    /// Sends an inner IPv4 packet made by the gateway itself (routed like a
    /// packet from the inside interface).
    pub fn send_local(&mut self, now: Instant, packet: &[u8]) {
        self.forward_inner(now, packet, false);
        self.pump(now);
    }

    /// Sends an ICMP echo request from tunnel `tunnel`'s inside address to
    /// `dst`. False if there is no such tunnel.
    pub fn ping(&mut self, now: Instant, tunnel: TunnelId, dst: Ipv4Addr, seq: u16) -> bool {
        let Some(t) = self.tunnels.get(tunnel.0) else {
            return false;
        };
        let p = wire::build_icmp_echo(t.cfg.inside_local, dst, false, 0x6367, seq, &[0u8; 32]);
        self.send_local(now, &p);
        true
    }

    fn tunnel_of_sa(&mut self, id: SaId) -> Option<TunnelId> {
        if let Some((_, t)) = self.sa_tunnel.iter().find(|(i, _)| *i == id) {
            return Some(*t);
        }
        let ip = self.endpoint.sa(id)?.remote_addr().ip();
        let t = self.tunnel_of_peer(ip)?;
        self.sa_tunnel.push((id, t));
        Some(t)
    }

    fn tunnel_of_peer(&self, ip: IpAddr) -> Option<TunnelId> {
        self.tunnels
            .iter()
            .position(|t| IpAddr::V4(t.cfg.peer) == ip)
            .map(TunnelId)
    }

    fn next_iv_seed(&mut self) -> [u8; 32] {
        self.iv_counter += 1;
        let mut s = self.iv_seed;
        for (b, c) in s.iter_mut().zip(self.iv_counter.to_be_bytes()) {
            *b ^= c;
        }
        s
    }

    fn push_event(&mut self, at: Instant, tunnel: TunnelId, kind: TunnelEventKind) {
        self.events.push(GatewayEvent { at, tunnel, kind });
    }

    fn down(&mut self, at: Instant, tunnel: TunnelId, cause: DownCause, was_up: bool) {
        self.tunnels[tunnel.0].last_failure = Some(cause.clone());
        self.push_event(at, tunnel, TunnelEventKind::Down { cause, was_up });
    }

    /// Drains the endpoint: datagrams out, events into the data planes.
    fn pump(&mut self, now: Instant) {
        while let Some(t) = self.endpoint.poll_transmit() {
            self.send_ike(t.local, t.remote, &t.payload);
        }
        // Called for every packet: without an event (the common case)
        // nothing below allocates.
        if let Some(first) = self.endpoint.poll_event() {
            self.apply_events(now, first);
        }
        // After the events: an SA keyed in this call is in the endpoint now,
        // even one whose IKE_AUTH is about to fail.
        if let Some(k) = &mut self.keylog {
            k.note_ike_sas(&self.endpoint);
        }
        if self.request_extra_children(now) {
            while let Some(t) = self.endpoint.poll_transmit() {
                self.send_ike(t.local, t.remote, &t.payload);
            }
        }
    }

    /// Applies `first` and the engine's further events to the data planes
    /// and reports tunnels going up or down.
    fn apply_events(&mut self, now: Instant, first: (SaId, Event)) {
        // Up/down is judged once the batch is drained: on the side that
        // initiates a child rekey the engine reports the old pair deleted
        // just before the new one installed, at the same instant.
        let before: Vec<bool> = self.tunnels.iter().map(|t| t.dp.is_up()).collect();
        let mut batch = vec![Batch::default(); self.tunnels.len()];
        let mut next = Some(first);
        while let Some((id, e)) = next {
            if let Some(tid) = self.tunnel_of_sa(id) {
                self.on_event(now, tid, e, &mut batch[tid.0]);
            }
            next = self.endpoint.poll_event();
        }
        for (i, (was_up, b)) in before.into_iter().zip(batch).enumerate() {
            let tid = TunnelId(i);
            let is_up = self.tunnels[i].dp.is_up();
            let idled = match (was_up, is_up) {
                (false, true) => {
                    self.tunnels[i].idle.on_up(now);
                    false
                }
                (true, false) => self.tunnels[i].idle.on_down(),
                _ => false,
            };
            match (was_up, is_up) {
                (false, true) => self.push_event(now, tid, TunnelEventKind::Up),
                (true, false) if !b.failure_reported => {
                    let cause = match (idled, b.ike_closed, b.child_deleted) {
                        (true, _, _) => DownCause::IdleTimeout {
                            idle: self.tunnels[i].idle_for.take().unwrap_or_default(),
                        },
                        (false, Some(by), _) => DownCause::IkeClosed(by),
                        (false, None, by) => DownCause::ChildDeleted(by.unwrap_or(DeletedBy::Us)),
                    };
                    self.down(now, tid, cause, true);
                }
                (false, false) if !b.failure_reported => {
                    if let Some(by) = b.ike_closed {
                        self.down(now, tid, DownCause::IkeClosed(by), false);
                    }
                }
                _ => {}
            }
        }
    }

    /// Asks for the next of each tunnel's further selector pairs on its
    /// established IKE SA (one request at a time per SA). Returns whether
    /// a request went out.
    fn request_extra_children(&mut self, now: Instant) -> bool {
        let mut sent = false;
        for i in 0..self.tunnels.len() {
            let Some(pair) = self.tunnels[i].extra_pending.first().cloned() else {
                continue;
            };
            let ids: Vec<SaId> = self
                .sa_tunnel
                .iter()
                .filter(|(_, t)| t.0 == i)
                .map(|(id, _)| *id)
                .collect();
            for id in ids {
                let Some(sa) = self.endpoint.sa_mut(id) else {
                    continue;
                };
                if sa.create_child_sa(now, pair.0.clone(), pair.1.clone()) {
                    self.tunnels[i].extra_pending.remove(0);
                    sent = true;
                    break;
                }
            }
        }
        sent
    }

    fn on_event(&mut self, now: Instant, tid: TunnelId, e: Event, batch: &mut Batch) {
        let was_up = self.tunnels[tid.0].dp.is_up();
        match e {
            Event::IkeSaEstablished(info) => {
                let t = &mut self.tunnels[tid.0];
                t.extra_pending = t.cfg.extra_selectors.clone();
                self.push_event(
                    now,
                    tid,
                    TunnelEventKind::IkeUp {
                        nat_t_detected: info.nat.detected(),
                    },
                )
            }
            Event::ChildSaInstalled(c) => {
                if let Some(k) = &mut self.keylog {
                    let peer = self.tunnels[tid.0].cfg.peer;
                    k.note_child(&c, IpAddr::V4(self.outer), IpAddr::V4(peer));
                }
                let seed = self.next_iv_seed();
                let (Ok(o), Ok(i)) = (c.outbound_sa(seed), c.inbound_sa(REPLAY_WINDOW)) else {
                    return;
                };
                let dp = &mut self.tunnels[tid.0].dp;
                dp.outbound.push((c.spi_in, o, c.encapsulation));
                dp.inbound.push((c.spi_in, i, 0));
                self.spi_tunnel.insert(c.spi_in, tid.0);
                dp.selectors
                    .push((c.spi_in, (c.local_ts.clone(), c.remote_ts.clone())));
                if let Some(replaces) = c.replaces {
                    let kind = TunnelEventKind::ChildRekeyed {
                        spi_in: c.spi_in,
                        replaces,
                    };
                    self.push_event(now, tid, kind);
                }
            }
            Event::ChildSaDeleted { spi_in, by } => {
                batch.child_deleted = Some(by);
                let dp = &mut self.tunnels[tid.0].dp;
                let spi_out = dp
                    .outbound
                    .iter()
                    .find(|(s, _, _)| *s == spi_in)
                    .map(|(_, o, _)| o.spi());
                dp.outbound.retain(|(s, _, _)| *s != spi_in);
                dp.selectors.retain(|(s, _)| *s != spi_in);
                dp.lingering.push(spi_in);
                for gone in dp.reap() {
                    self.spi_tunnel.remove(&gone);
                }
                self.push_event(now, tid, TunnelEventKind::ChildRemoved { spi_out, by });
            }
            Event::IkeSaFailed(f) => {
                batch.failure_reported = true;
                self.down(now, tid, DownCause::IkeFailed(f), was_up);
            }
            Event::ChildSaFailed(f) => {
                batch.failure_reported = true;
                self.down(now, tid, DownCause::ChildFailed(f), was_up);
            }
            // Its children were reported deleted just before (an IKE rekey
            // hands them to the successor without closing events).
            Event::IkeSaClosed { by } => batch.ike_closed = Some(by),
            Event::DpdTimeout { retransmits, .. } => {
                batch.failure_reported = true;
                self.down(now, tid, DownCause::DpdTimeout { retransmits }, was_up);
            }
            Event::IkeSaRekeyed { .. } => self.push_event(now, tid, TunnelEventKind::IkeRekeyed),
            Event::AdditionalChildSaFailed { failure, tsi, tsr } => {
                let kind = TunnelEventKind::ChildRefused { failure, tsi, tsr };
                self.push_event(now, tid, kind);
            }
            Event::ChildRekeyCollision {
                we_delete_redundant,
                ..
            } => {
                let kind = TunnelEventKind::ChildRekeyCollision {
                    we_delete_redundant,
                };
                self.push_event(now, tid, kind);
            }
            // The peer's NAT mapping moved: UDP-encapsulated ESP follows.
            Event::PeerAddressChanged { old, new } => {
                for (_, _, encap) in &mut self.tunnels[tid.0].dp.outbound {
                    if let Some((_, remote)) = encap.as_mut().filter(|e| e.1 == old) {
                        *remote = new;
                    }
                }
            }
        }
    }

    /// Routes an inner packet into its tunnel, or answers it locally.
    /// `from_inside`: it arrived on the inside interface (TTL decremented).
    fn forward_inner(&mut self, now: Instant, packet: &[u8], from_inside: bool) {
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.malformed += 1;
            return;
        };
        if self.is_local(info.dst) {
            self.local_inner(now, &info, packet);
            return;
        }
        let mut p = packet[..info.total_len].to_vec();
        if from_inside {
            if info.ttl <= 1 {
                self.stats.ttl_expired += 1;
                return;
            }
            wire::decrement_ttl(&mut p);
        }
        let Some(tid) = self.lookup(info.dst) else {
            if from_inside {
                self.stats.no_route += 1;
            } else {
                // The gateway's own packets (answers to LAN hosts) leave on
                // the inside interface when no tunnel route matches.
                self.stats.to_inside += 1;
                self.out.push_packet(INSIDE, &p);
            }
            return;
        };
        self.clamp_mss(tid.0, &mut p);
        self.encapsulate(now, tid, &p);
    }

    /// A packet the host routed into tunnel `tid`'s interface.
    fn handle_tunnel_iface(&mut self, now: Instant, tid: TunnelId, packet: &[u8]) {
        if packet.first().is_some_and(|b| b >> 4 == 6) {
            self.encapsulate_v6(now, tid, packet);
            return;
        }
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.malformed += 1;
            return;
        };
        let packet = &packet[..info.total_len];
        if self.tunnels[tid.0].cfg.mss_clamp.is_none() {
            self.encapsulate(now, tid, packet);
            return;
        }
        let mut p = std::mem::take(&mut self.tx_buf);
        p.clear();
        p.extend_from_slice(packet);
        self.clamp_mss(tid.0, &mut p);
        self.encapsulate(now, tid, &p);
        self.tx_buf = p;
    }

    /// Lowers the MSS of a TCP SYN crossing tunnel `ti`, if it clamps.
    fn clamp_mss(&mut self, ti: usize, p: &mut [u8]) {
        if let Some(mss) = self.tunnels[ti].cfg.mss_clamp {
            if lab::mss::clamp_mss(p, mss).is_some() {
                self.stats.mss_clamped += 1;
            }
        }
    }

    fn is_local(&self, ip: Ipv4Addr) -> bool {
        ip == self.outer || self.tunnels.iter().any(|t| t.cfg.inside_local == ip)
    }

    /// The largest inner packet `tunnel` carries whole: what its newest
    /// outbound SA's ESP overhead (header, IV, padding to the block, ICV)
    /// and UDP encapsulation leave of an [`OUTER_MTU`]-byte outer packet.
    /// For AWS's suites this is AWS's table (AES-GCM 1446, AES-CBC with
    /// SHA1 1438, ...). `None` while the tunnel is down.
    pub fn tunnel_mtu(&self, tunnel: TunnelId) -> Option<usize> {
        let (_, sa, encap) = self.tunnels.get(tunnel.0)?.dp.outbound.last()?;
        Some(inner_mtu(sa, encap.is_some()))
    }

    /// The ESP suite of `tunnel`'s newest outbound SA and whether it is
    /// UDP-encapsulated (NAT-T). `None` while the tunnel is down.
    pub fn esp_suite(
        &self,
        tunnel: TunnelId,
    ) -> Option<(ike::crypto::EncrAlg, Option<ike::crypto::IntegAlg>, bool)> {
        let (_, sa, encap) = self.tunnels.get(tunnel.0)?.dp.outbound.last()?;
        Some((sa.encr(), sa.integ(), encap.is_some()))
    }

    /// `tunnel`'s established IKE SA (the newest, during a rekey).
    pub fn ike_sa(&self, tunnel: TunnelId) -> Option<&ike::sa::IkeSa> {
        let peer = IpAddr::V4(self.tunnels.get(tunnel.0)?.cfg.peer);
        self.endpoint
            .sas()
            .filter(|(_, sa)| {
                sa.remote_addr().ip() == peer && sa.state() == ike::sa::State::Established
            })
            .map(|(_, sa)| sa)
            .last()
    }

    /// `tunnel`'s installed child SA pairs: (our inbound SPI, the peer's
    /// SPI we send with, inbound counters, outbound counters), oldest
    /// first.
    pub fn child_sas(
        &self,
        tunnel: TunnelId,
    ) -> Vec<(u32, u32, ike::esp::SaCounters, ike::esp::SaCounters)> {
        let Some(t) = self.tunnels.get(tunnel.0) else {
            return Vec::new();
        };
        t.dp.outbound
            .iter()
            .map(|(spi_in, out, _)| {
                let inc =
                    t.dp.inbound
                        .iter()
                        .find(|(s, _, _)| s == spi_in)
                        .map(|(_, sa, _)| sa.counters())
                        .unwrap_or_default();
                (*spi_in, out.spi(), inc, out.counters())
            })
            .collect()
    }

    /// Sends an inner packet into `tid`, minding the tunnel MTU: a larger
    /// packet with DF set (and DF not cleared) is refused with an ICMP
    /// "fragmentation needed" to its source; otherwise it is fragmented
    /// before encryption, each fragment in its own ESP packet.
    fn encapsulate(&mut self, now: Instant, tid: TunnelId, inner: &[u8]) {
        let Some(info) = Ipv4Info::parse(inner) else {
            self.stats.malformed += 1;
            return;
        };
        // No pair's selectors hold the packet (a policy-based tunnel whose
        // pair for this subnet was never made): it is dropped.
        let dp = &self.tunnels[tid.0].dp;
        let Some(sa) = dp.outbound_for(IpAddr::V4(info.src), IpAddr::V4(info.dst)) else {
            self.stats.no_outbound += 1;
            // Traffic for a tunnel its idle timeout took down brings it up
            // again; this packet is lost, as on the devices.
            let t = &mut self.tunnels[tid.0];
            if t.dp.outbound.is_empty()
                && t.cfg.role == TunnelRole::Initiator
                && t.idle.wants_initiation()
            {
                self.initiate(tid, now);
            }
            return;
        };
        let mtu = {
            let (_, o, encap) = &dp.outbound[sa];
            inner_mtu(o, encap.is_some())
        };
        if inner.len() <= mtu {
            self.seal_one(now, tid, sa, inner);
            return;
        }
        let mut p = inner.to_vec();
        if info.df {
            if !self.tunnels[tid.0].cfg.clear_df {
                let from = self.tunnels[tid.0].cfg.inside_local;
                let mtu16 = u16::try_from(mtu).unwrap_or(u16::MAX);
                if let Some(icmp) = wire::build_icmp_frag_needed(from, inner, mtu16) {
                    self.stats.frag_needed_sent += 1;
                    self.forward_inner(now, &icmp, false);
                }
                return;
            }
            p[6] &= !0x40;
            wire::fix_ip_checksum(&mut p);
        }
        let Some(frags) = lab::frag::fragment(&p, mtu) else {
            self.stats.malformed += 1;
            return;
        };
        self.stats.fragmented += 1;
        for f in frags {
            self.seal_one(now, tid, sa, &f);
        }
    }

    /// An IPv6 packet from tunnel `tid`'s interface: sealed whole (next
    /// header 41) on the newest outbound SA whose selectors hold its
    /// addresses (IPv6 selectors, as on AWS's IPv6 inside-tunnel
    /// connections), else dropped. Never fragmented: IPv6 routers do not,
    /// and the TUN device's MTU makes the kernel send "packet too big".
    fn encapsulate_v6(&mut self, now: Instant, tid: TunnelId, packet: &[u8]) {
        let Some((src, dst, len)) = ipv6_header(packet) else {
            self.stats.malformed += 1;
            return;
        };
        // A route-based tunnel carries unicast between routed addresses:
        // the host's own link-local and multicast chatter (neighbour and
        // router discovery, MLD) stays on its side, as over AWS's tunnels.
        let link_local = |a: std::net::Ipv6Addr| a.segments()[0] & 0xffc0 == 0xfe80;
        if dst.is_multicast() || link_local(src) || link_local(dst) || src.is_unspecified() {
            self.stats.no_outbound += 1;
            return;
        }
        let dp = &self.tunnels[tid.0].dp;
        let Some(sa) = dp.outbound_for(IpAddr::V6(src), IpAddr::V6(dst)) else {
            self.stats.no_outbound += 1;
            return;
        };
        let (_, o, encap) = &dp.outbound[sa];
        if len > inner_mtu(o, encap.is_some()) {
            self.stats.no_outbound += 1;
            return;
        }
        self.seal_one_as(now, tid, sa, &packet[..len], NEXT_HEADER_IPV6);
    }

    /// Seals `inner` on outbound SA number `sa` of `tid` and sends it.
    fn seal_one(&mut self, now: Instant, tid: TunnelId, sa: usize, inner: &[u8]) {
        self.seal_one_as(now, tid, sa, inner, NEXT_HEADER_IPV4);
    }

    /// Seals `inner` (an IP packet of `next_header`'s version) on
    /// outbound SA number `sa` of `tid` and sends it.
    fn seal_one_as(
        &mut self,
        now: Instant,
        tid: TunnelId,
        sa: usize,
        inner: &[u8],
        next_header: u8,
    ) {
        let peer = self.tunnels[tid.0].cfg.peer;
        let Some((spi_in, sa, encap)) = self.tunnels[tid.0].dp.outbound.get_mut(sa) else {
            self.stats.no_outbound += 1;
            return;
        };
        let spi_in = *spi_in;
        // Sealed straight into the output queue: no packet of its own.
        let seal = |b: &mut Vec<u8>| sa.seal(next_header, inner, b);
        let (sealed, counter) = match *encap {
            Some((SocketAddr::V4(l), SocketAddr::V4(r))) => (
                self.out.push_datagram_with(l, r, seal),
                &mut self.stats.esp_udp_sent,
            ),
            _ => (
                self.out.push_esp_with(self.outer, peer, seal),
                &mut self.stats.esp_raw_sent,
            ),
        };
        if sealed.is_err() {
            self.stats.no_outbound += 1;
            return;
        }
        *counter += 1;
        let t = &mut self.tunnels[tid.0];
        t.traffic.packets_out += 1;
        t.traffic.bytes_out += inner.len() as u64;
        t.idle.on_traffic(now);
        if let Some(id) = self.endpoint.sa_of_child(spi_in) {
            self.endpoint.note_traffic_sent(id, now);
        }
    }

    /// An inner packet for the gateway itself: answer echo requests.
    fn local_inner(&mut self, now: Instant, info: &Ipv4Info, packet: &[u8]) {
        self.stats.local += 1;
        let l4 = &packet[info.header_len..info.total_len];
        if info.protocol == PROTO_ICMP && l4.len() >= 8 && l4[0] == 8 {
            let id = u16::from_be_bytes([l4[4], l4[5]]);
            let seq = u16::from_be_bytes([l4[6], l4[7]]);
            let reply = wire::build_icmp_echo(info.dst, info.src, true, id, seq, &l4[8..]);
            self.stats.echo_replies += 1;
            self.forward_inner(now, &reply, false);
        } else if self.control && info.protocol == PROTO_TCP && info.dst != self.outer {
            self.stats.to_control += 1;
            self.out.push_packet(CONTROL, &packet[..info.total_len]);
        } else {
            self.received_local
                .push((now, packet[..info.total_len].to_vec()));
        }
    }

    /// An outer packet on the outside interface.
    fn handle_outside(&mut self, now: Instant, packet: &[u8]) {
        let Some(info) = Ipv4Info::parse(packet) else {
            self.stats.malformed += 1;
            return;
        };
        if info.dst != self.outer || info.later_fragment {
            self.stats.malformed += 1;
            return;
        }
        match info.protocol {
            PROTO_UDP => {
                let (Some((sport, dport)), Some(payload)) =
                    (info.ports(packet), wire::udp_payload(packet))
                else {
                    self.stats.malformed += 1;
                    return;
                };
                let local = SocketAddrV4::new(info.dst, dport);
                let remote = SocketAddrV4::new(info.src, sport);
                self.on_datagram(now, local, remote, payload);
            }
            PROTO_ESP => {
                self.stats.esp_raw_received += 1;
                self.decapsulate_copy(now, &packet[info.header_len..info.total_len]);
            }
            _ => {
                self.stats.local += 1;
                let l4 = &packet[info.header_len..info.total_len];
                if info.protocol == PROTO_ICMP && l4.len() >= 8 && l4[0] == 8 {
                    let id = u16::from_be_bytes([l4[4], l4[5]]);
                    let seq = u16::from_be_bytes([l4[6], l4[7]]);
                    let reply = wire::build_icmp_echo(info.dst, info.src, true, id, seq, &l4[8..]);
                    self.stats.echo_replies += 1;
                    self.out.push_packet(OUTSIDE, &reply);
                }
            }
        }
    }

    /// A UDP datagram for us (`local`: our outer address and port) from
    /// `remote`: IKE for the endpoint, or ESP in UDP to open.
    fn on_datagram(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        payload: &[u8],
    ) {
        if *local.ip() != self.outer {
            self.stats.malformed += 1;
            return;
        }
        let Some(tid) = self.tunnel_of_peer(IpAddr::V4(*remote.ip())) else {
            self.stats.unknown_peer += 1;
            return;
        };
        let refused = self.tunnels[tid.0]
            .v1
            .as_ref()
            .and_then(|a| a.on_datagram(payload));
        if let Some(V1Outcome::VersionRefused(peer)) = refused {
            self.stats.ike_received += 1;
            self.tunnels[tid.0].v1 = None;
            let cause = DownCause::IkeVersionMismatch { ours: 1, peer };
            self.down(now, tid, cause, false);
            return;
        }
        let (local, remote) = (SocketAddr::V4(local), SocketAddr::V4(remote));
        match self.endpoint.handle_datagram(now, local, remote, payload) {
            Received::Esp(esp) => {
                self.stats.esp_udp_received += 1;
                self.decapsulate_copy(now, esp);
            }
            Received::Malformed => self.stats.malformed += 1,
            Received::Keepalive => {}
            _ => self.stats.ike_received += 1,
        }
    }

    /// Opens a copy of `esp` (decryption is in place) in the gateway's
    /// reused receive buffer.
    fn decapsulate_copy(&mut self, now: Instant, esp: &[u8]) {
        let mut buf = std::mem::take(&mut self.rx_buf);
        buf.clear();
        buf.extend_from_slice(esp);
        self.decapsulate(now, &mut buf);
        self.rx_buf = buf;
    }

    /// Opens an ESP packet with the inbound SA of its SPI and forwards the
    /// inner packet.
    fn decapsulate(&mut self, now: Instant, esp: &mut [u8]) {
        let Some(spi) = ike::esp::spi_of(esp) else {
            self.stats.malformed += 1;
            return;
        };
        let found = self.spi_tunnel.get(&spi).and_then(|&ti| {
            let i = self.tunnels[ti]
                .dp
                .inbound
                .iter()
                .position(|(s, _, _)| *s == spi)?;
            Some((ti, i))
        });
        let Some((ti, i)) = found else {
            self.stats.no_inbound += 1;
            return;
        };
        let dp = &mut self.tunnels[ti].dp;
        let Ok(opened) = dp.inbound[i].1.open(esp) else {
            self.stats.open_errors += 1;
            return;
        };
        // Authentic: the SA carried traffic, the peer is alive.
        dp.inbound[i].2 += 1;
        for gone in dp.reap() {
            self.spi_tunnel.remove(&gone);
        }
        self.endpoint.note_inbound_esp(now, spi);
        let inner = opened.inner;
        let v6_len = match opened.next_header {
            NEXT_HEADER_IPV4 => None,
            // IPv6 goes to the tunnel's interface (a host's TUN device);
            // the simulated lab's LANs are IPv4 only.
            NEXT_HEADER_IPV6 if self.tunnel_ifaces => Some(ipv6_header(inner).map(|h| h.2)),
            // Dummy (59) or IPv6 in the lab: nothing to forward.
            _ => return,
        };
        let t = &mut self.tunnels[ti];
        t.idle.on_traffic(now);
        t.traffic.packets_in += 1;
        t.traffic.bytes_in += inner.len() as u64;
        self.stats.decapsulated += 1;
        match v6_len {
            None => {}
            Some(Some(len)) => {
                self.stats.to_inside += 1;
                self.out
                    .push_packet(tunnel_iface(TunnelId(ti)), &inner[..len]);
                return;
            }
            Some(None) => {
                self.stats.malformed += 1;
                return;
            }
        }
        let Some(info) = Ipv4Info::parse(inner) else {
            self.stats.malformed += 1;
            return;
        };
        let p = &mut inner[..info.total_len];
        if self.tunnel_ifaces {
            self.clamp_mss(ti, p);
            self.stats.to_inside += 1;
            self.out.push_packet(tunnel_iface(TunnelId(ti)), p);
            return;
        }
        if self.is_local(info.dst) {
            self.local_inner(now, &info, p);
            return;
        }
        if info.ttl <= 1 {
            self.stats.ttl_expired += 1;
            return;
        }
        wire::decrement_ttl(p);
        self.clamp_mss(ti, p);
        self.stats.to_inside += 1;
        self.out.push_packet(INSIDE, p);
    }

    /// A UDP datagram a host's socket received on `local` (our outer
    /// address, port 500 or 4500) from `remote`: what
    /// [`Node::handle_packet`] does with the same datagram in an IPv4
    /// packet on [`OUTSIDE`], without an IP header to build and parse.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        payload: &[u8],
    ) {
        self.on_datagram(now, local, remote, payload);
        self.pump(now);
    }

    /// The next thing to send, borrowed from the gateway's queue: a
    /// datagram (addresses and payload, for a socket), a raw ESP packet, or
    /// a whole packet on an interface. What [`Node::poll_transmit`] gives
    /// as an IP packet, without building one.
    pub fn poll_outgoing(&mut self) -> Option<Transmit<'_>> {
        self.out.pop()
    }
}

impl Node for TunnelGateway {
    fn handle_packet(&mut self, now: Instant, iface: IfaceId, packet: &[u8]) {
        match iface {
            OUTSIDE => self.handle_outside(now, packet),
            INSIDE => self.forward_inner(now, packet, true),
            CONTROL if self.control => self.forward_inner(now, packet, false),
            i if self.tunnel_ifaces && i.0 >= 3 && usize::from(i.0 - 3) < self.tunnels.len() => {
                self.handle_tunnel_iface(now, TunnelId(usize::from(i.0 - 3)), packet)
            }
            _ => self.stats.malformed += 1,
        }
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        self.v1_timeouts(now);
        self.idle_timeouts(now);
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<(IfaceId, Vec<u8>)> {
        self.out.pop().map(|t| t.to_packet(OUTSIDE))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let v1 = self
            .tunnels
            .iter()
            .filter_map(|t| t.v1.as_ref().map(V1Attempt::deadline));
        let idle = self.tunnels.iter().filter_map(|t| t.idle.deadline());
        self.endpoint
            .poll_timeout()
            .into_iter()
            .chain(v1)
            .chain(idle)
            .min()
    }
}

/// An IPv6 packet's source, destination and total length (header and
/// payload), if it is one and whole.
fn ipv6_header(p: &[u8]) -> Option<(std::net::Ipv6Addr, std::net::Ipv6Addr, usize)> {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return None;
    }
    let len = 40 + usize::from(u16::from_be_bytes([p[4], p[5]]));
    if len > p.len() {
        return None;
    }
    let src: [u8; 16] = p[8..24].try_into().ok()?;
    let dst: [u8; 16] = p[24..40].try_into().ok()?;
    Some((src.into(), dst.into(), len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike::crypto::{EncrAlg, IntegAlg, Secret};

    /// The MTU the gateway computes from the ESP overhead is AWS's table
    /// for every suite AWS accepts, with and without NAT-T.
    #[test]
    fn inner_mtu_is_aws_table() {
        let encrs = [
            EncrAlg::AesCbc { key_bits: 128 },
            EncrAlg::AesCbc { key_bits: 256 },
            EncrAlg::AesGcm16 { key_bits: 128 },
            EncrAlg::AesGcm16 { key_bits: 256 },
        ];
        let integs = [
            (IntegAlg::HmacSha1_96, 20),
            (IntegAlg::HmacSha256_128, 32),
            (IntegAlg::HmacSha384_192, 48),
            (IntegAlg::HmacSha512_256, 64),
        ];
        let mut checked = 0;
        for e in encrs {
            let (bits, aead) = match e {
                EncrAlg::AesCbc { key_bits } => (key_bits, false),
                EncrAlg::AesGcm16 { key_bits } => (key_bits, true),
            };
            let ekey = Secret::new(vec![7; usize::from(bits / 8) + if aead { 4 } else { 0 }]);
            let options: Vec<Option<(IntegAlg, usize)>> = if aead {
                vec![None]
            } else {
                integs.iter().copied().map(Some).collect()
            };
            for i in options {
                let ikey = Secret::new(vec![9; i.map_or(0, |x| x.1)]);
                let sa = OutboundSa::new(1, e, i.map(|x| x.0), &ekey, &ikey, [0; 32]).unwrap();
                for nat_t in [false, true] {
                    let want = crate::diagnosis::aws_mtu(e, i.map(|x| x.0), nat_t).0;
                    assert_eq!(
                        inner_mtu(&sa, nat_t),
                        usize::from(want),
                        "{e:?} {i:?} {nat_t}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 20);
    }
}
