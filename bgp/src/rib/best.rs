//! Best-path selection (RFC 4271 9.1.2.2, with the usual vendor steps).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use smallvec::SmallVec;

use super::{PeerInfo, Route, RouteSource};

/// Knobs of the decision process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestPathConfig {
    /// Static routes win over every BGP route for the same prefix (AWS:
    /// "static VPN routes over BGP VPN routes"). When false they compete
    /// on the ordinary rules (with an empty AS_PATH they usually win).
    pub static_over_bgp: bool,
    /// LOCAL_PREF assumed when a route has none (and for all eBGP routes
    /// without an import override).
    pub default_local_pref: u32,
    /// Compare MED between routes from different neighbouring ASes too.
    pub always_compare_med: bool,
    /// Prefer the oldest route before comparing router IDs (RFC 5004);
    /// when false the decision goes straight to the router ID.
    pub prefer_oldest: bool,
}

impl Default for BestPathConfig {
    fn default() -> Self {
        BestPathConfig {
            static_over_bgp: false,
            default_local_pref: 100,
            always_compare_med: false,
            prefer_oldest: true,
        }
    }
}

/// What selection needs to know besides the routes.
pub(super) struct Ctx<'a> {
    pub config: &'a BestPathConfig,
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub peers: &'a [Option<PeerInfo>],
}

impl Ctx<'_> {
    fn peer(&self, r: &Route) -> Option<&PeerInfo> {
        match r.source {
            RouteSource::Peer(p) => self.peers.get(p.0 as usize).and_then(Option::as_ref),
            _ => None,
        }
    }

    /// The LOCAL_PREF the route is judged by.
    pub fn local_pref(&self, r: &Route) -> u32 {
        let default = self.config.default_local_pref;
        match self.peer(r) {
            Some(p) if p.ebgp => p.import_local_pref.unwrap_or(default),
            Some(p) => p
                .import_local_pref
                .or(r.attrs.local_pref)
                .unwrap_or(default),
            None => r.attrs.local_pref.unwrap_or(default),
        }
    }

    /// 0 local or static, 1 eBGP, 2 iBGP (unknown peers count as iBGP).
    fn class(&self, r: &Route) -> u8 {
        match r.source {
            RouteSource::Local | RouteSource::Static => 0,
            RouteSource::Peer(_) => match self.peer(r) {
                Some(p) if p.ebgp => 1,
                _ => 2,
            },
        }
    }

    fn tie_break(&self, r: &Route) -> (u8, Option<Instant>, Ipv4Addr, IpAddr, u32) {
        let arrival = self.config.prefer_oldest.then_some(r.arrival);
        let (rid, addr, id) = match (r.source, self.peer(r)) {
            (RouteSource::Peer(p), Some(info)) => (info.router_id, info.address, p.0),
            (RouteSource::Peer(p), None) => (Ipv4Addr::BROADCAST, r.attrs.next_hop, p.0),
            _ => (self.router_id, r.attrs.next_hop, 0),
        };
        (self.class(r), arrival, rid, addr, id)
    }
}

fn keep_min<K: Ord>(c: &mut SmallVec<[usize; 8]>, key: impl Fn(usize) -> K) {
    if let Some(m) = c.iter().map(|&i| key(i)).min() {
        c.retain(|i| key(*i) == m);
    }
}

/// The index of the best route in `routes` (which must not be empty).
///
/// Elimination in order: static over BGP (when configured), highest
/// LOCAL_PREF, shortest AS_PATH, lowest ORIGIN, lowest MED among routes
/// from the same neighbouring AS, then local/static over eBGP over iBGP,
/// oldest, lowest router ID, lowest peer address, lowest peer id.
/// Elimination (rather than a pairwise comparison) keeps the result
/// independent of the order of the routes even though MED is not
/// transitive.
pub(super) fn select(routes: &[Route], cx: &Ctx<'_>) -> usize {
    if routes.len() == 1 {
        return 0;
    }
    let mut c: SmallVec<[usize; 8]> = (0..routes.len()).collect();
    if cx.config.static_over_bgp && routes.iter().any(|r| r.source == RouteSource::Static) {
        c.retain(|i| routes[*i].source == RouteSource::Static);
    }
    keep_min(&mut c, |i| std::cmp::Reverse(cx.local_pref(&routes[i])));
    keep_min(&mut c, |i| routes[i].attrs.as_path.len());
    keep_min(&mut c, |i| routes[i].attrs.origin);
    if c.len() > 1 {
        let neighbour = |i: usize| {
            if cx.config.always_compare_med {
                0
            } else {
                routes[i].attrs.as_path.first_as().unwrap_or(cx.local_as)
            }
        };
        // A missing MED is the best possible (RFC 4271 9.1.2.2 c).
        let med = |i: usize| routes[i].attrs.med.unwrap_or(0);
        let all = c.clone();
        c.retain(|i| {
            !all.iter()
                .any(|&j| neighbour(j) == neighbour(*i) && med(j) < med(*i))
        });
    }
    keep_min(&mut c, |i| cx.tie_break(&routes[i]));
    c[0]
}
