//! The routing information base, sans-IO and independent of the session:
//! per-peer Adj-RIB-In, the Loc-RIB with best-path selection and
//! longest-prefix match, per-peer Adj-RIB-Out with export policy, and
//! maximum-prefix limits.
//!
//! The speaker feeds it what sessions deliver ([`Rib::apply_update`],
//! [`Rib::peer_up`], [`Rib::peer_down`]), drains what happened with
//! [`Rib::poll_event`] (best-path changes for logs and forwarding, denied
//! routes, prefix-limit warnings) and asks, per established peer, what to
//! send with [`Rib::poll_export`].
//!
//! Memory: attributes are interned (`Arc<PathAttributes>`, one per
//! distinct set) and prefixes are keys of `prefix_trie`'s tree-bitmap tries,
//! which do not store the prefix per entry; a route in the Loc-RIB is 32
//! bytes and a single candidate is stored inline (no extra allocation).

mod best;
mod export;
mod intern;
mod policy;

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use prefix_trie::joint::JointPrefixMap;
use smallvec::SmallVec;

use crate::route::{IpNet, Origin, PathAttributes};
use crate::wire::{Notification, Update};

pub use best::BestPathConfig;
pub use policy::{ExportPolicy, ImportPolicy, PrefixFilter, PrefixRule};

use export::AdjOut;
use intern::Interner;

/// AFI for IPv4.
pub const AFI_IPV4: u16 = 1;
/// AFI for IPv6.
pub const AFI_IPV6: u16 = 2;
/// SAFI for unicast.
pub const SAFI_UNICAST: u8 = 1;

/// The (AFI, SAFI) a prefix belongs to: (1, 1) for IPv4, (2, 1) for IPv6.
pub fn afi_safi(prefix: &IpNet) -> (u16, u8) {
    match prefix {
        IpNet::V4(_) => (AFI_IPV4, SAFI_UNICAST),
        IpNet::V6(_) => (AFI_IPV6, SAFI_UNICAST),
    }
}

fn family(prefix: &IpNet) -> usize {
    usize::from(matches!(prefix, IpNet::V6(_)))
}

/// A peer of the RIB, as returned by [`Rib::add_peer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(u32);

impl PeerId {
    /// The index of the peer (dense, starting at 0, in order of
    /// [`Rib::add_peer`]).
    pub fn index(self) -> u32 {
        self.0
    }
}

/// Where a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteSource {
    /// Originated by us ([`Rib::originate`]).
    Local,
    /// A static route ([`Rib::add_static`]).
    Static,
    /// Learned from a BGP peer.
    Peer(PeerId),
}

/// A route in the Loc-RIB: one candidate for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Where it came from.
    pub source: RouteSource,
    /// Its attributes, shared with every route that has the same ones.
    pub attrs: Arc<PathAttributes>,
    /// When it arrived (or last changed): the `now` passed in.
    pub arrival: Instant,
}

impl Route {
    /// The AS_PATH as text, space-separated, sets in braces (`65000 {1 2}`),
    /// as AWS logs show `asPath`.
    pub fn as_path_string(&self) -> String {
        use crate::route::AsSegment;
        let parts: Vec<String> = self
            .attrs
            .as_path
            .0
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => {
                    v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
                }
                AsSegment::Set(v) => format!(
                    "{{{}}}",
                    v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
                ),
            })
            .collect();
        parts.join(" ")
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&self) -> Option<u32> {
        self.attrs.med
    }

    /// NEXT_HOP.
    pub fn next_hop(&self) -> IpAddr {
        self.attrs.next_hop
    }

    /// Whether this is the route of `source` (for static routes: via
    /// `next_hop`).
    fn is(&self, source: RouteSource, next_hop: IpAddr) -> bool {
        self.source == source && (source != RouteSource::Static || self.attrs.next_hop == next_hop)
    }

    fn same_as(&self, other: &Route) -> bool {
        self.source == other.source && Arc::ptr_eq(&self.attrs, &other.attrs)
    }
}

/// Why a received route was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// The AS_PATH holds our own AS (loop prevention).
    OwnAs,
    /// The peer's import prefix filter refused the prefix.
    ImportFilter,
}

impl DenyReason {
    /// The reason as AWS words it in "DENIED due to: {reason}".
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::OwnAs => "as-path contains our own AS",
            DenyReason::ImportFilter => "prefix filtered by import policy",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the RIB reports, drained with [`Rib::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RibEvent {
    /// The best route for `prefix` changed: `previous` None means a new
    /// prefix (AWS: ADVERTISED), `best` None means it is gone (WITHDRAWN),
    /// both set means a new best route (UPDATED).
    BestChanged {
        /// The prefix.
        prefix: IpNet,
        /// The best route before.
        previous: Option<Route>,
        /// The best route now.
        best: Option<Route>,
    },
    /// A received route was not accepted (AWS: "DENIED due to: {reason}").
    Denied {
        /// The peer that sent it.
        peer: PeerId,
        /// The prefix.
        prefix: IpNet,
        /// Why.
        reason: DenyReason,
    },
    /// A peer's prefix count reached the warning threshold.
    PrefixLimitWarning {
        /// The peer.
        peer: PeerId,
        /// AFI of the count.
        afi: u16,
        /// SAFI of the count.
        safi: u8,
        /// Prefixes held.
        count: u32,
        /// The configured limit.
        limit: u32,
    },
}

/// A peer sent more prefixes than its limit. The RIB has already dropped
/// the peer's routes (as [`Rib::peer_down`]); the speaker sends
/// [`MaxPrefixExceeded::notification`] (Cease 6/1) and closes the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("maximum number of prefixes reached: {received} received, limit {limit} (AFI {afi}, SAFI {safi})")]
pub struct MaxPrefixExceeded {
    /// The configured limit.
    pub limit: u32,
    /// How many prefixes the peer had sent for this AFI/SAFI.
    pub received: u32,
    /// AFI.
    pub afi: u16,
    /// SAFI.
    pub safi: u8,
}

impl MaxPrefixExceeded {
    /// NOTIFICATION Cease / Maximum Number of Prefixes Reached (6/1) with
    /// the RFC 4486 data: AFI (2 octets), SAFI (1), limit (4).
    pub fn notification(&self) -> Notification {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&self.afi.to_be_bytes());
        data.push(self.safi);
        data.extend_from_slice(&self.limit.to_be_bytes());
        Notification {
            code: 6,
            subcode: 1,
            data,
        }
    }
}

/// A BGP peer as the RIB sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The peer's AS (equal to ours: iBGP).
    pub peer_as: u32,
    /// The peer's BGP identifier; replaced by the one in its OPEN at
    /// [`Rib::peer_up`]. Used in best-path tie breaking.
    pub peer_router_id: Ipv4Addr,
    /// The peer's address, the last best-path tie breaker.
    pub peer_address: IpAddr,
    /// Import policy.
    pub import: ImportPolicy,
    /// Export policy.
    pub export: ExportPolicy,
}

/// What best-path selection needs of a peer (kept apart from the tables so
/// selection can borrow it while a table is being changed).
#[derive(Debug, Clone)]
struct PeerInfo {
    ebgp: bool,
    router_id: Ipv4Addr,
    address: IpAddr,
    import_local_pref: Option<u32>,
}

/// A route in a peer's Adj-RIB-In.
#[derive(Debug, Clone)]
struct AdjIn {
    attrs: Arc<PathAttributes>,
    accepted: bool,
}

#[derive(Debug)]
struct PeerState {
    config: PeerConfig,
    up: bool,
    adj_in: JointPrefixMap<IpNet, AdjIn>,
    /// Prefixes in `adj_in` per family (IPv4, IPv6).
    counts: [u32; 2],
    /// Whether the warning for the family has been given.
    warned: [bool; 2],
    out: AdjOut,
}

/// The candidates for one prefix; the best is first.
#[derive(Debug, Default)]
struct LocEntry {
    routes: SmallVec<[Route; 1]>,
}

enum Change {
    Upsert(Route),
    /// The route of a source (next hop: for static routes only).
    Remove(RouteSource, IpAddr),
}

const ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The RIB. See the [module documentation](self).
#[derive(Debug)]
pub struct Rib {
    local_as: u32,
    router_id: Ipv4Addr,
    config: BestPathConfig,
    info: Vec<Option<PeerInfo>>,
    peers: Vec<Option<PeerState>>,
    loc: JointPrefixMap<IpNet, LocEntry>,
    interner: Interner,
    events: VecDeque<RibEvent>,
}

impl Rib {
    /// An empty RIB for a speaker in `local_as` with BGP identifier
    /// `router_id`, with the default decision process.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Rib {
        Rib::with_config(local_as, router_id, BestPathConfig::default())
    }

    /// An empty RIB with a given decision process.
    pub fn with_config(local_as: u32, router_id: Ipv4Addr, config: BestPathConfig) -> Rib {
        Rib {
            local_as,
            router_id,
            config,
            info: Vec::new(),
            peers: Vec::new(),
            loc: JointPrefixMap::new(),
            interner: Interner::default(),
            events: VecDeque::new(),
        }
    }

    /// Our AS.
    pub fn local_as(&self) -> u32 {
        self.local_as
    }

    /// The decision process in use.
    pub fn best_path_config(&self) -> &BestPathConfig {
        &self.config
    }

    /// Adds a peer (down until [`Rib::peer_up`]; routes it sends are
    /// accepted either way, but nothing is exported to it while down).
    pub fn add_peer(&mut self, config: PeerConfig) -> PeerId {
        let id = PeerId(u32::try_from(self.peers.len()).expect("fewer than 2^32 peers"));
        self.info.push(Some(PeerInfo {
            ebgp: config.peer_as != self.local_as,
            router_id: config.peer_router_id,
            address: config.peer_address,
            import_local_pref: config.import.local_pref,
        }));
        self.peers.push(Some(PeerState {
            config,
            up: false,
            adj_in: JointPrefixMap::new(),
            counts: [0; 2],
            warned: [false; 2],
            out: AdjOut::default(),
        }));
        id
    }

    /// Removes a peer and every route learned from it. Its id is not
    /// reused.
    pub fn remove_peer(&mut self, peer: PeerId) {
        self.peer_down(peer);
        self.peers[peer.0 as usize] = None;
        self.info[peer.0 as usize] = None;
    }

    /// The peer's configuration.
    ///
    /// # Panics
    /// If `peer` is unknown or removed (as every method taking a `PeerId`).
    pub fn peer_config(&self, peer: PeerId) -> &PeerConfig {
        &self.state(peer).config
    }

    /// Whether the peer is up (between [`Rib::peer_up`] and
    /// [`Rib::peer_down`]).
    pub fn is_up(&self, peer: PeerId) -> bool {
        self.state(peer).up
    }

    /// The session with `peer` is established; `router_id` is the BGP
    /// identifier from its OPEN. The whole Loc-RIB becomes due for export
    /// to it.
    pub fn peer_up(&mut self, peer: PeerId, router_id: Ipv4Addr) {
        self.info_mut(peer).router_id = router_id;
        let st = self.state_mut(peer);
        st.config.peer_router_id = router_id;
        st.up = true;
        st.out = AdjOut::default();
        st.out.start_walk();
    }

    /// The session with `peer` is gone: every route learned from it is
    /// withdrawn (best paths are recomputed, with events), and its
    /// Adj-RIB-Out and pending exports are dropped.
    pub fn peer_down(&mut self, peer: PeerId) {
        let st = self.state_mut(peer);
        st.up = false;
        st.out = AdjOut::default();
        st.counts = [0; 2];
        st.warned = [false; 2];
        let adj_in = std::mem::replace(&mut st.adj_in, JointPrefixMap::new());
        for (prefix, r) in adj_in.iter() {
            if r.accepted {
                self.loc_change(prefix, Change::Remove(RouteSource::Peer(peer), ANY));
            }
        }
        drop(adj_in);
        self.interner.sweep();
    }

    /// Replaces a peer's export policy; everything is re-evaluated for it
    /// on the following [`Rib::poll_export`] calls (e.g. a new MED).
    pub fn set_export_policy(&mut self, peer: PeerId, export: ExportPolicy) {
        let st = self.state_mut(peer);
        st.config.export = export;
        st.out.policy_changed();
    }

    /// Applies an UPDATE received from `peer` at `now`: withdrawals first,
    /// then announcements (all withdrawn if `treat_as_withdraw`).
    ///
    /// Routes whose AS_PATH holds our AS or that the import filter refuses
    /// are kept in the Adj-RIB-In as not accepted and reported with
    /// [`RibEvent::Denied`]. Past the peer's prefix limit the peer's routes
    /// are dropped and the error returned.
    pub fn apply_update(
        &mut self,
        peer: PeerId,
        update: &Update,
        now: Instant,
    ) -> Result<(), MaxPrefixExceeded> {
        for w in &update.withdrawn {
            self.withdraw_from_peer(peer, w.trunc());
        }
        match &update.attributes {
            Some(attrs) if !update.treat_as_withdraw && !update.announced.is_empty() => {
                let attrs = self.interner.intern(attrs);
                for p in &update.announced {
                    self.announce_from_peer(peer, p.trunc(), &attrs, now);
                }
            }
            _ => {
                for p in &update.announced {
                    self.withdraw_from_peer(peer, p.trunc());
                }
            }
        }
        self.check_limits(peer)
    }

    fn check_limits(&mut self, peer: PeerId) -> Result<(), MaxPrefixExceeded> {
        let st = self.peers[peer.0 as usize]
            .as_mut()
            .expect("unknown or removed PeerId");
        let Some(limit) = st.config.import.max_prefixes else {
            return Ok(());
        };
        let pct = st.config.import.warning_threshold_percent;
        let mut exceeded = None;
        for fam in 0..2 {
            let count = st.counts[fam];
            let (afi, safi) = if fam == 0 {
                (AFI_IPV4, SAFI_UNICAST)
            } else {
                (AFI_IPV6, SAFI_UNICAST)
            };
            if let Some(pct) = pct {
                let threshold = (u64::from(limit) * u64::from(pct)).div_ceil(100).max(1);
                if u64::from(count) >= threshold {
                    if !st.warned[fam] {
                        st.warned[fam] = true;
                        self.events.push_back(RibEvent::PrefixLimitWarning {
                            peer,
                            afi,
                            safi,
                            count,
                            limit,
                        });
                    }
                } else {
                    st.warned[fam] = false;
                }
            }
            if count > limit && exceeded.is_none() {
                exceeded = Some(MaxPrefixExceeded {
                    limit,
                    received: count,
                    afi,
                    safi,
                });
            }
        }
        match exceeded {
            Some(e) => {
                self.peer_down(peer);
                Err(e)
            }
            None => Ok(()),
        }
    }

    fn announce_from_peer(
        &mut self,
        peer: PeerId,
        prefix: IpNet,
        attrs: &Arc<PathAttributes>,
        now: Instant,
    ) {
        let local_as = self.local_as;
        let st = self.state_mut(peer);
        let denied = if attrs.as_path.contains(local_as) {
            Some(DenyReason::OwnAs)
        } else if !st.config.import.filter.permits(&prefix) {
            Some(DenyReason::ImportFilter)
        } else {
            None
        };
        let new = AdjIn {
            attrs: attrs.clone(),
            accepted: denied.is_none(),
        };
        let old = st.adj_in.insert(prefix, new);
        if old.is_none() {
            st.counts[family(&prefix)] += 1;
        }
        let was_accepted = old.as_ref().is_some_and(|o| o.accepted);
        match denied {
            Some(reason) => {
                self.events.push_back(RibEvent::Denied {
                    peer,
                    prefix,
                    reason,
                });
                if was_accepted {
                    self.loc_change(prefix, Change::Remove(RouteSource::Peer(peer), ANY));
                }
            }
            None => {
                let unchanged = was_accepted && old.is_some_and(|o| Arc::ptr_eq(&o.attrs, attrs));
                if !unchanged {
                    let route = Route {
                        source: RouteSource::Peer(peer),
                        attrs: attrs.clone(),
                        arrival: now,
                    };
                    self.loc_change(prefix, Change::Upsert(route));
                }
            }
        }
    }

    fn withdraw_from_peer(&mut self, peer: PeerId, prefix: IpNet) {
        let st = self.state_mut(peer);
        let Some(old) = st.adj_in.remove(&prefix) else {
            return;
        };
        st.counts[family(&prefix)] -= 1;
        if old.accepted {
            self.loc_change(prefix, Change::Remove(RouteSource::Peer(peer), ANY));
        }
    }

    /// Originates `prefix` with `attrs` (typically
    /// [`PathAttributes::originated`]) at `now`, replacing an earlier
    /// origination of the same prefix.
    pub fn originate(&mut self, prefix: IpNet, attrs: PathAttributes, now: Instant) {
        let attrs = self.interner.intern_owned(attrs);
        let route = Route {
            source: RouteSource::Local,
            attrs,
            arrival: now,
        };
        self.loc_change(prefix.trunc(), Change::Upsert(route));
    }

    /// Stops originating `prefix`.
    pub fn withdraw_originated(&mut self, prefix: IpNet) {
        self.loc_change(prefix.trunc(), Change::Remove(RouteSource::Local, ANY));
    }

    /// Adds a static route to `prefix` via `next_hop` (ORIGIN incomplete,
    /// empty AS_PATH). Several static routes to one prefix with different
    /// next hops may coexist.
    pub fn add_static(&mut self, prefix: IpNet, next_hop: IpAddr, now: Instant) {
        let attrs = PathAttributes {
            origin: Origin::Incomplete,
            ..PathAttributes::originated(next_hop)
        };
        let route = Route {
            source: RouteSource::Static,
            attrs: self.interner.intern_owned(attrs),
            arrival: now,
        };
        self.loc_change(prefix.trunc(), Change::Upsert(route));
    }

    /// Removes the static route to `prefix` via `next_hop`.
    pub fn remove_static(&mut self, prefix: IpNet, next_hop: IpAddr) {
        self.loc_change(
            prefix.trunc(),
            Change::Remove(RouteSource::Static, next_hop),
        );
    }

    /// Inserts, replaces or removes one candidate of `prefix`, reselects
    /// the best route, reports a change and marks the prefix for export.
    fn loc_change(&mut self, prefix: IpNet, change: Change) {
        let Rib {
            loc,
            peers,
            info,
            events,
            config,
            local_as,
            router_id,
            ..
        } = self;
        let entry = match &change {
            Change::Upsert(_) => loc.entry(prefix).or_default(),
            Change::Remove(..) => match loc.get_mut(&prefix) {
                Some(e) => e,
                None => return,
            },
        };
        let previous = entry.routes.first().cloned();
        match change {
            Change::Upsert(r) => {
                match entry
                    .routes
                    .iter()
                    .position(|x| x.is(r.source, r.attrs.next_hop))
                {
                    // Same attributes again: the route keeps its age.
                    Some(i) if Arc::ptr_eq(&entry.routes[i].attrs, &r.attrs) => return,
                    Some(i) => entry.routes[i] = r,
                    None => entry.routes.push(r),
                }
            }
            Change::Remove(src, nh) => match entry.routes.iter().position(|x| x.is(src, nh)) {
                Some(i) => {
                    entry.routes.remove(i);
                }
                None => return,
            },
        }
        let best = if entry.routes.is_empty() {
            None
        } else {
            let cx = best::Ctx {
                config,
                local_as: *local_as,
                router_id: *router_id,
                peers: info,
            };
            let i = best::select(&entry.routes, &cx);
            entry.routes.swap(0, i);
            Some(entry.routes[0].clone())
        };
        if best.is_none() {
            loc.remove(&prefix);
        }
        let changed = match (&previous, &best) {
            (Some(a), Some(b)) => !a.same_as(b),
            (None, None) => false,
            _ => true,
        };
        if !changed {
            return;
        }
        for (i, st) in peers.iter_mut().enumerate() {
            let Some(st) = st else { continue };
            if !st.up {
                continue;
            }
            let useless_here = match &best {
                None => true,
                Some(b) => b.source == RouteSource::Peer(PeerId(i as u32)),
            };
            if useless_here && !st.out.has_sent(&prefix) {
                continue;
            }
            st.out.mark(prefix);
        }
        events.push_back(RibEvent::BestChanged {
            prefix,
            previous,
            best,
        });
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<RibEvent> {
        self.events.pop_front()
    }

    /// The best route for exactly `prefix`.
    pub fn best(&self, prefix: &IpNet) -> Option<&Route> {
        self.loc.get(&prefix.trunc()).and_then(|e| e.routes.first())
    }

    /// Every candidate for exactly `prefix`, the best first.
    pub fn candidates(&self, prefix: &IpNet) -> &[Route] {
        self.loc
            .get(&prefix.trunc())
            .map(|e| e.routes.as_slice())
            .unwrap_or(&[])
    }

    /// The best route of the longest prefix holding `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Option<&Route> {
        self.lookup_entry(addr).map(|(_, r)| r)
    }

    /// The longest prefix holding `addr` and its best route.
    pub fn lookup_entry(&self, addr: IpAddr) -> Option<(IpNet, &Route)> {
        let host = IpNet::from(addr);
        self.loc
            .get_lpm(&host)
            .and_then(|(p, e)| e.routes.first().map(|r| (p, r)))
    }

    /// Every prefix of the Loc-RIB with its best route, IPv4 first, in
    /// prefix order.
    pub fn iter_best(&self) -> impl Iterator<Item = (IpNet, &Route)> {
        self.loc
            .iter()
            .filter_map(|(p, e)| e.routes.first().map(|r| (p, r)))
    }

    /// Number of prefixes in the Loc-RIB.
    pub fn loc_rib_len(&self) -> usize {
        self.loc.len()
    }

    /// The peer's Adj-RIB-In: (prefix, attributes, accepted).
    pub fn adj_rib_in(
        &self,
        peer: PeerId,
    ) -> impl Iterator<Item = (IpNet, &Arc<PathAttributes>, bool)> {
        self.state(peer)
            .adj_in
            .iter()
            .map(|(p, r)| (p, &r.attrs, r.accepted))
    }

    /// Number of prefixes in the peer's Adj-RIB-In (accepted or not).
    pub fn adj_rib_in_len(&self, peer: PeerId) -> usize {
        self.state(peer).adj_in.len()
    }

    /// The count the prefix limit applies to for (AFI, SAFI).
    pub fn prefix_count(&self, peer: PeerId, afi: u16, safi: u8) -> u32 {
        let st = self.state(peer);
        match (afi, safi) {
            (AFI_IPV4, SAFI_UNICAST) => st.counts[0],
            (AFI_IPV6, SAFI_UNICAST) => st.counts[1],
            _ => 0,
        }
    }

    /// What has been handed out for the peer by [`Rib::poll_export`]:
    /// (prefix, attributes as sent).
    pub fn adj_rib_out(&self, peer: PeerId) -> impl Iterator<Item = (IpNet, &Arc<PathAttributes>)> {
        self.state(peer).out.iter()
    }

    /// Number of distinct attribute sets held (including not yet swept
    /// unused ones).
    pub fn attribute_sets(&self) -> usize {
        self.interner.len()
    }

    fn state(&self, peer: PeerId) -> &PeerState {
        self.peers
            .get(peer.0 as usize)
            .and_then(Option::as_ref)
            .expect("unknown or removed PeerId")
    }

    fn state_mut(&mut self, peer: PeerId) -> &mut PeerState {
        self.peers
            .get_mut(peer.0 as usize)
            .and_then(Option::as_mut)
            .expect("unknown or removed PeerId")
    }

    fn info_mut(&mut self, peer: PeerId) -> &mut PeerInfo {
        self.info
            .get_mut(peer.0 as usize)
            .and_then(Option::as_mut)
            .expect("unknown or removed PeerId")
    }
}
