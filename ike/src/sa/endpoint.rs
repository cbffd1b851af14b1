//! An IKE endpoint: one local address pair (ports 500 and 4500) serving
//! many IKE SAs. It demultiplexes datagrams by SPI, starts responder SAs on
//! new IKE_SA_INIT requests, and hands ESP and keepalives on the NAT-T port
//! back to the caller, which owns the data plane.
//!
//! It also guards the responder against floods (RFC 7296 2.6): past
//! `cookie_threshold` half-open IKE SAs it answers IKE_SA_INIT statelessly
//! with a COOKIE, and past `half_open_limit` it drops requests outright.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::config::IkeConfig;
use super::cookie::{cookie_response, CookieJar, EndpointStats, InitRequest};
use super::event::{Event, Role};
use super::ike_sa::{IkeSa, State, Transmit};
use super::version::answer_other_version;
use crate::natt::{classify_udp4500, Udp4500};
use crate::wire::{ExchangeType, HeaderView, Message};

/// Identifies an IKE SA inside an [`Endpoint`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SaId(pub u64);

/// What a datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// An IKE message, given to the IKE SA it belongs to.
    Ike(SaId),
    /// An IKE message no SA wanted (unknown SPI, or a request we do not
    /// answer as we are not a responder); dropped.
    Unmatched,
    /// An ESP packet (UDP-encapsulated on the NAT-T port): the data plane's.
    Esp(&'a [u8]),
    /// A NAT keepalive.
    Keepalive,
    /// An IKE_SA_INIT request answered statelessly with a COOKIE (too
    /// many half-open SAs, and no valid cookie in the request).
    CookieDemanded,
    /// An IKE_SA_INIT request dropped: the half-open limit is reached.
    Dropped,
    /// Not parseable as anything.
    Malformed,
    /// An IKE message of another major version (IKEv1, or above 2):
    /// dropped, and answered with INVALID_MAJOR_VERSION when it opens an
    /// exchange and we are a responder (RFC 7296 2.5).
    UnsupportedVersion {
        /// The major version in its header.
        major: u8,
    },
}

/// Many IKE SAs behind one pair of UDP ports.
pub struct Endpoint {
    responder: Option<Arc<IkeConfig>>,
    /// Responder configurations by peer address, consulted before
    /// `responder`: a gateway that terminates many tunnels (AWS's side of
    /// many connections) answers each peer with that tunnel's options and
    /// pre-shared key.
    per_peer: HashMap<IpAddr, Arc<IkeConfig>>,
    natt_port: u16,
    sas: Vec<(SaId, IkeSa)>,
    next_id: u64,
    rng: ChaCha20Rng,
    /// Stateless answers (cookies), sent before any SA's datagrams.
    transmits: VecDeque<Transmit>,
    /// Made on first use, so that an endpoint that never demands a cookie
    /// draws nothing from its generator.
    cookies: Option<CookieJar>,
    stats: EndpointStats,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("sas", &self.sas.len())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint that answers IKE_SA_INIT with `responder` (or, with
    /// `None`, never responds: initiator only). `seed` seeds every SA's
    /// random source in turn.
    pub fn new(responder: Option<Arc<IkeConfig>>, seed: [u8; 32]) -> Endpoint {
        let natt_port = responder.as_ref().map_or(4500, |c| c.natt_port);
        Endpoint {
            responder,
            per_peer: HashMap::new(),
            natt_port,
            sas: Vec::new(),
            next_id: 0,
            rng: ChaCha20Rng::from_seed(seed),
            transmits: VecDeque::new(),
            cookies: None,
            stats: EndpointStats::default(),
        }
    }

    /// Answers IKE_SA_INIT from `peer` (its IP address, whatever the port:
    /// a NAT may change it) with `config` instead of the default responder
    /// configuration.
    pub fn set_responder_for(&mut self, peer: IpAddr, config: Arc<IkeConfig>) {
        self.per_peer.insert(peer, config);
    }

    fn next_seed(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        self.rng.fill_bytes(&mut s);
        s
    }

    fn insert(&mut self, sa: IkeSa) -> SaId {
        let id = SaId(self.next_id);
        self.next_id += 1;
        self.sas.push((id, sa));
        id
    }

    /// Starts an IKE SA as initiator.
    pub fn initiate(
        &mut self,
        config: Arc<IkeConfig>,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
    ) -> SaId {
        let seed = self.next_seed();
        self.natt_port = config.natt_port;
        let sa = IkeSa::initiate(config, local, remote, now, seed);
        self.insert(sa)
    }

    /// Replaces the configuration new responder IKE SAs get (`None`: stop
    /// answering IKE_SA_INIT). IKE SAs that exist keep theirs.
    pub fn set_responder(&mut self, responder: Option<Arc<IkeConfig>>) {
        if let Some(c) = &responder {
            self.natt_port = c.natt_port;
        }
        self.responder = responder;
    }

    /// The IKE SA `id`, while it exists.
    pub fn sa(&self, id: SaId) -> Option<&IkeSa> {
        self.sas.iter().find(|(i, _)| *i == id).map(|(_, s)| s)
    }

    /// The IKE SA `id`, mutably (to call `delete_child`, `delete_ike`, ...).
    pub fn sa_mut(&mut self, id: SaId) -> Option<&mut IkeSa> {
        self.sas.iter_mut().find(|(i, _)| *i == id).map(|(_, s)| s)
    }

    /// Tells IKE SA `id` that the data plane sent it an ESP packet at
    /// `now` (no NAT keepalive is due for one interval).
    pub fn note_traffic_sent(&mut self, id: SaId, now: Instant) {
        if let Some((_, sa)) = self.sas.iter_mut().find(|(i, _)| *i == id) {
            sa.note_traffic_sent(now);
        }
    }

    /// How many responder IKE SAs are half-open (IKE_SA_INIT answered,
    /// IKE_AUTH not yet come).
    pub fn half_open(&self) -> usize {
        self.sas
            .iter()
            .filter(|(_, sa)| sa.role() == Role::Responder && sa.state() == State::InitAnswered)
            .count()
    }

    /// Admission-control counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// The live IKE SA that holds the child SA with inbound SPI `spi_in`
    /// (children move between IKE SAs when the IKE SA is rekeyed).
    pub fn sa_of_child(&self, spi_in: u32) -> Option<SaId> {
        self.sas
            .iter()
            // `has_child`, not `child_spis`: this runs for every ESP
            // packet, and must not allocate.
            .find(|(_, sa)| !sa.is_closed() && sa.has_child(spi_in))
            .map(|(id, _)| *id)
    }

    /// The data plane received authenticated ESP on inbound SPI `spi_in`:
    /// tells the IKE SA owning that child SA that the peer is alive (see
    /// [`IkeSa::note_inbound_esp`]). Returns that SA, if any.
    pub fn note_inbound_esp(&mut self, now: Instant, spi_in: u32) -> Option<SaId> {
        let id = self.sa_of_child(spi_in)?;
        self.sa_mut(id)?.note_inbound_esp(now);
        Some(id)
    }

    /// All IKE SAs.
    pub fn sas(&self) -> impl Iterator<Item = (SaId, &IkeSa)> {
        self.sas.iter().map(|(i, s)| (*i, s))
    }

    /// Processes one UDP datagram received on `local` from `remote`.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &'a [u8],
    ) -> Received<'a> {
        let message = if local.port() == self.natt_port {
            match classify_udp4500(datagram) {
                Udp4500::Ike(m) => m,
                Udp4500::Esp(e) => return Received::Esp(e),
                Udp4500::Keepalive => return Received::Keepalive,
                Udp4500::Invalid => return Received::Malformed,
            }
        } else {
            datagram
        };
        let Ok(h) = HeaderView::new_checked(message) else {
            return Received::Malformed;
        };
        if h.major_version() != 2 {
            self.stats.unsupported_version += 1;
            let natt = local.port() == self.natt_port;
            if self.responder.is_some() {
                if let Some(t) = answer_other_version(local, remote, &h, natt) {
                    self.stats.invalid_major_version_sent += 1;
                    self.transmits.push_back(t);
                }
            }
            return Received::UnsupportedVersion {
                major: h.major_version(),
            };
        }
        let (spi_i, spi_r) = (h.spi_i(), h.spi_r());
        let initial_request =
            spi_r == 0 && h.exchange() == ExchangeType::IKE_SA_INIT && !h.flags().response;
        let found = self.sas.iter_mut().find(|(_, sa)| {
            if sa.is_closed() {
                return false;
            }
            match sa.role() {
                // Ours is spi_i; before IKE_SA_INIT is answered spi_r is 0.
                Role::Initiator => sa.spi_i() == spi_i,
                Role::Responder if initial_request => {
                    sa.spi_i() == spi_i && sa.remote_addr().ip() == remote.ip()
                }
                Role::Responder => sa.spi_r() == spi_r && sa.spi_i() == spi_i,
            }
        });
        if let Some((id, sa)) = found {
            let id = *id;
            sa.handle_message(now, local, remote, message);
            self.adopt_successors();
            return Received::Ike(id);
        }
        let cfg = self.per_peer.get(&remote.ip()).or(self.responder.as_ref());
        match (cfg, initial_request) {
            (Some(cfg), true) => {
                let cfg = cfg.clone();
                if let Some(refused) = self.admit(now, &cfg, local, remote, message) {
                    return refused;
                }
                let seed = self.next_seed();
                match IkeSa::accept(cfg, local, remote, message, now, seed) {
                    Ok(sa) => Received::Ike(self.insert(sa)),
                    Err(_) => Received::Malformed,
                }
            }
            _ => Received::Unmatched,
        }
    }

    /// Admission control for a new IKE_SA_INIT request (RFC 7296 2.6):
    /// `None` lets it through; otherwise it was dropped or answered with a
    /// cookie, and no state was created.
    fn admit(
        &mut self,
        now: Instant,
        cfg: &IkeConfig,
        local: SocketAddr,
        remote: SocketAddr,
        message: &[u8],
    ) -> Option<Received<'static>> {
        let half_open = self.half_open();
        self.stats.half_open_peak = self.stats.half_open_peak.max(half_open as u64);
        if half_open >= cfg.half_open_limit {
            self.stats.dropped_half_open_limit += 1;
            return Some(Received::Dropped);
        }
        if half_open < cfg.cookie_threshold {
            return None;
        }
        let Ok(msg) = Message::parse(message) else {
            return Some(Received::Malformed);
        };
        let Some(req) = InitRequest::read(&msg) else {
            return Some(Received::Malformed);
        };
        let jar = match &mut self.cookies {
            Some(j) => {
                j.rotate(now, cfg.cookie_secret_lifetime, &mut self.rng);
                j
            }
            None => self.cookies.insert(CookieJar::new(now, &mut self.rng)),
        };
        if let Some(c) = req.cookie {
            if jar.verify(c, req.ni, remote.ip(), req.spi_i) {
                self.stats.cookies_accepted += 1;
                return None;
            }
            self.stats.invalid_cookies += 1;
        }
        let cookie = jar.make(req.ni, remote.ip(), req.spi_i);
        let natt = local.port() == self.natt_port;
        self.transmits
            .push_back(cookie_response(local, remote, req.spi_i, cookie, natt));
        self.stats.cookies_sent += 1;
        Some(Received::CookieDemanded)
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (_, sa) in &mut self.sas {
            if sa.poll_timeout().is_some_and(|t| t <= now) {
                sa.handle_timeout(now);
            }
        }
        self.adopt_successors();
    }

    /// Takes the IKE SAs that rekeys created into the endpoint.
    fn adopt_successors(&mut self) {
        let mut born = Vec::new();
        for (_, sa) in &mut self.sas {
            while let Some(next) = sa.take_successor() {
                born.push(next);
            }
        }
        for sa in born {
            self.insert(sa);
        }
    }

    /// The earliest deadline of any SA.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sas
            .iter()
            .filter_map(|(_, sa)| sa.poll_timeout())
            .min()
    }

    /// The next datagram to send, from any SA.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        self.sas.iter_mut().find_map(|(_, sa)| sa.poll_transmit())
    }

    /// The next event, with the SA it came from. Closed SAs are forgotten
    /// once their last datagram and event have been taken.
    pub fn poll_event(&mut self) -> Option<(SaId, Event)> {
        let e = self
            .sas
            .iter_mut()
            .find_map(|(id, sa)| sa.poll_event().map(|e| (*id, e)));
        if e.is_none() {
            self.sas
                .retain_mut(|(_, sa)| !sa.is_closed() || sa.has_output());
        }
        e
    }
}
