//! Adj-RIB-Out: per peer, what has been sent, what is due, and the export
//! policy that turns a best route into what the peer is told.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Weak};

use prefix_trie::joint::JointPrefixMap;

use super::{family, PeerId, PeerInfo, Rib, Route, RouteSource};
use crate::route::{AsSegment, IpNet, PathAttributes};
use crate::wire::{Update, HEADER_LEN, MAX_MESSAGE_LEN};

/// Prefixes examined per refill of the outbox.
const BATCH: usize = 32768;

/// Well-known communities (RFC 1997).
const NO_EXPORT: u32 = 0xFFFF_FF01;
const NO_ADVERTISE: u32 = 0xFFFF_FF02;
const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;

/// Attribute flag: transitive.
const TRANSITIVE: u8 = 0x40;

/// Key of the export cache: the Loc-RIB attributes (by address) and the
/// route's source, which decides MED and LOCAL_PREF handling.
type CacheKey = (usize, RouteSource);

#[derive(Debug, Default)]
pub(super) struct AdjOut {
    /// What the peer has been told.
    sent: JointPrefixMap<IpNet, Arc<PathAttributes>>,
    /// Prefixes whose best route changed since.
    dirty: BTreeSet<IpNet>,
    /// A walk over the whole Loc-RIB (after peer up or a policy change):
    /// `Some(None)` from the start, `Some(Some(p))` after `p`.
    walk: Option<Option<IpNet>>,
    /// Updates built and not yet handed out.
    outbox: VecDeque<Update>,
    /// Export policy results per input attribute set. The `Weak` keeps the
    /// input's address from being reused while the entry exists.
    cache: HashMap<CacheKey, (Weak<PathAttributes>, Option<Arc<PathAttributes>>)>,
    cache_next_gc: usize,
}

impl AdjOut {
    pub fn start_walk(&mut self) {
        self.walk = Some(None);
    }

    pub fn policy_changed(&mut self) {
        self.cache.clear();
        self.start_walk();
    }

    pub fn has_sent(&self, prefix: &IpNet) -> bool {
        self.sent.contains_key(prefix)
    }

    pub fn mark(&mut self, prefix: IpNet) {
        self.dirty.insert(prefix);
    }

    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &Arc<PathAttributes>)> {
        self.sent.iter()
    }
}

/// Octets a prefix takes in NLRI.
fn nlri_len(p: &IpNet) -> usize {
    1 + usize::from(p.prefix_len()).div_ceil(8)
}

/// An upper bound on the encoded size of `a` (extended lengths, AS_PATH
/// counted twice for AS4_PATH on 2-octet sessions, MP_REACH for IPv6).
fn attrs_len_bound(a: &PathAttributes, v6: bool) -> usize {
    let path: usize = a
        .as_path
        .0
        .iter()
        .map(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => 2 + 4 * v.len(),
        })
        .sum();
    let mut n = 4 + 2 * (4 + path) + 4 * 4 + 3;
    n += 4 + 4 * a.communities.len();
    n += a.other.iter().map(|(_, _, v)| 4 + v.len()).sum::<usize>();
    n += if v6 { 4 + 5 + 32 } else { 7 };
    n
}

/// Room for NLRI in one UPDATE besides the fixed fields and `attrs`.
fn nlri_budget(attrs_len: usize) -> usize {
    // header, withdrawn length, attributes length
    let room = MAX_MESSAGE_LEN - HEADER_LEN - 4;
    room.saturating_sub(attrs_len).max(17)
}

fn chunk(prefixes: Vec<IpNet>, budget: usize, mut emit: impl FnMut(Vec<IpNet>)) {
    let mut cur = Vec::new();
    let mut used = 0;
    for p in prefixes {
        let n = nlri_len(&p);
        if used + n > budget && !cur.is_empty() {
            emit(std::mem::take(&mut cur));
            used = 0;
        }
        used += n;
        cur.push(p);
    }
    if !cur.is_empty() {
        emit(cur);
    }
}

impl Rib {
    /// The next UPDATE to send to `peer`, if any: withdrawals (without
    /// attributes) or announcements sharing one attribute set, of a single
    /// address family each, sized to fit a 4096-octet message. Returns
    /// `None` when the peer is down or nothing is due. The Adj-RIB-Out
    /// records updates as they are queued: the caller sends every update
    /// it is given, in order, until [`Rib::peer_down`].
    pub fn poll_export(&mut self, peer: PeerId) -> Option<Update> {
        loop {
            let st = self.peers.get_mut(peer.0 as usize)?.as_mut()?;
            if let Some(u) = st.out.outbox.pop_front() {
                return Some(u);
            }
            if !st.up {
                return None;
            }
            let mut batch = Vec::new();
            while batch.len() < BATCH {
                match st.out.dirty.pop_first() {
                    Some(p) => batch.push(p),
                    None => break,
                }
            }
            if let Some(pos) = st.out.walk {
                let want = BATCH - batch.len();
                let it = match pos {
                    None => self.loc.iter(),
                    Some(p) => self.loc.iter_from(&p, false),
                };
                let before = batch.len();
                batch.extend(it.map(|(p, _)| p).take(want));
                st.out.walk = if batch.len() - before < want {
                    None
                } else {
                    batch.last().copied().map(Some)
                };
            }
            if batch.is_empty() {
                return None;
            }
            self.build_updates(peer, batch);
        }
    }

    fn build_updates(&mut self, peer: PeerId, batch: Vec<IpNet>) {
        let mut withdrawn: [Vec<IpNet>; 2] = [Vec::new(), Vec::new()];
        let mut groups: Vec<(Arc<PathAttributes>, usize, Vec<IpNet>)> = Vec::new();
        let mut group_of: HashMap<(usize, usize), usize> = HashMap::new();
        for prefix in batch {
            let desired = match self.loc.get(&prefix).and_then(|e| e.routes.first()) {
                Some(r) => {
                    let r = r.clone();
                    self.export_attrs(peer, prefix, &r)
                }
                None => None,
            };
            let st = self.peers[peer.0 as usize].as_mut().expect("peer exists");
            let fam = family(&prefix);
            match (desired, st.out.sent.get(&prefix)) {
                (Some(d), Some(s)) if Arc::ptr_eq(&d, s) => {}
                (None, None) => {}
                (None, Some(_)) => {
                    st.out.sent.remove(&prefix);
                    withdrawn[fam].push(prefix);
                }
                (Some(d), _) => {
                    st.out.sent.insert(prefix, d.clone());
                    let key = (Arc::as_ptr(&d) as usize, fam);
                    let g = *group_of.entry(key).or_insert_with(|| {
                        groups.push((d, fam, Vec::new()));
                        groups.len() - 1
                    });
                    groups[g].2.push(prefix);
                }
            }
        }
        let out = &mut self.peers[peer.0 as usize]
            .as_mut()
            .expect("peer exists")
            .out;
        for (fam, w) in withdrawn.into_iter().enumerate() {
            // MP_UNREACH_NLRI header for IPv6.
            let budget = nlri_budget(if fam == 1 { 7 } else { 0 });
            chunk(w, budget, |c| {
                out.outbox.push_back(Update {
                    withdrawn: c,
                    ..Update::default()
                })
            });
        }
        for (attrs, fam, prefixes) in groups {
            let budget = nlri_budget(attrs_len_bound(&attrs, fam == 1));
            chunk(prefixes, budget, |c| {
                out.outbox.push_back(Update {
                    withdrawn: Vec::new(),
                    attributes: Some((*attrs).clone()),
                    announced: c,
                    treat_as_withdraw: false,
                })
            });
        }
    }

    /// What `peer` should be told about `prefix` whose best route is
    /// `route`, or `None` if it must not be sent.
    fn export_attrs(
        &mut self,
        peer: PeerId,
        prefix: IpNet,
        route: &Route,
    ) -> Option<Arc<PathAttributes>> {
        let local_as = self.local_as;
        let to = self.info[peer.0 as usize].clone().expect("peer exists");
        match route.source {
            // Never back to where it came from.
            RouteSource::Peer(src) if src == peer => return None,
            // No iBGP route to an iBGP peer (no route reflection).
            RouteSource::Peer(src) if !to.ebgp => {
                let from_ibgp = self
                    .info
                    .get(src.0 as usize)
                    .and_then(Option::as_ref)
                    .is_none_or(|i| !i.ebgp);
                if from_ibgp {
                    return None;
                }
            }
            _ => {}
        }
        let st = self.peers[peer.0 as usize].as_mut().expect("peer exists");
        let export = &st.config.export;
        if route.source == RouteSource::Static && !export.redistribute_static {
            return None;
        }
        if !export.filter.permits(&prefix) {
            return None;
        }
        let key = (Arc::as_ptr(&route.attrs) as usize, route.source);
        if let Some((weak, out)) = st.out.cache.get(&key) {
            if weak.strong_count() > 0 {
                return out.clone();
            }
        }
        let cx = super::best::Ctx {
            config: &self.config,
            local_as,
            router_id: self.router_id,
            peers: &self.info,
        };
        let local_pref = cx.local_pref(route);
        let out = transform(
            &route.attrs,
            local_as,
            st.config.peer_as,
            &to,
            export,
            matches!(route.source, RouteSource::Peer(_)),
            local_pref,
        )
        .map(|a| self.interner.intern_owned(a));
        let cache = &mut st.out.cache;
        if cache.len() >= st.out.cache_next_gc.max(1024) {
            cache.retain(|_, (w, _)| w.strong_count() > 0);
            st.out.cache_next_gc = 2 * cache.len();
        }
        cache.insert(key, (Arc::downgrade(&route.attrs), out.clone()));
        out
    }
}

/// The export policy applied to one attribute set.
fn transform(
    a: &PathAttributes,
    local_as: u32,
    peer_as: u32,
    to: &PeerInfo,
    export: &super::ExportPolicy,
    learned: bool,
    local_pref: u32,
) -> Option<PathAttributes> {
    if a.communities.contains(&NO_ADVERTISE) {
        return None;
    }
    if to.ebgp
        && (a.communities.contains(&NO_EXPORT) || a.communities.contains(&NO_EXPORT_SUBCONFED))
    {
        return None;
    }
    if export.suppress_peer_as && a.as_path.contains(peer_as) {
        return None;
    }
    let mut out = a.clone();
    if to.ebgp {
        out.as_path = a.as_path.prepended(local_as, 1 + export.prepend);
        out.local_pref = None;
        if learned {
            // RFC 4271 5.1.4: a MED learned from a neighbouring AS is not
            // passed on to other neighbouring ASes; like most
            // implementations we do not pass on one learned over iBGP
            // either. Our own routes keep theirs.
            out.med = None;
        }
    } else {
        out.local_pref = Some(local_pref);
    }
    if let Some(med) = export.med {
        out.med = Some(med);
    }
    if let Some(nh) = export.next_hop_self {
        out.next_hop = nh;
    }
    if learned {
        out.other.retain(|(flags, _, _)| flags & TRANSITIVE != 0);
    }
    Some(out)
}
