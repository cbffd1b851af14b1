//! AWS-format BGP log records (AWS-VPN-FACTS.md section 4) from what an
//! AWS endpoint's BGP speaker reported: `BGPStatus` records for session
//! state changes, `RouteStatus` records for the CGW's routes as AWS's
//! best path sees them (ADVERTISED, UPDATED, WITHDRAWN), and denied routes
//! ("DENIED due to: as-path contains our own AS"). Pure functions of the
//! events, so they are unit-tested without a lab.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::rib::{DenyReason, RibEvent, Route, RouteSource};
use bgp::route::AsSegment;
use bgp::session::{SessionEvent, State};
use bgp::speaker::SpeakerEvent;

use super::logs::{BgpLogRecord, BgpStatus, RouteStatus};

/// A BGP record with its time since the start of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedBgpRecord {
    /// Since the start of the run.
    pub at: Duration,
    /// The record.
    pub record: BgpLogRecord,
}

fn as_path(r: &Route) -> Vec<u32> {
    r.attrs
        .as_path
        .0
        .iter()
        .flat_map(|s| match s {
            AsSegment::Sequence(v) | AsSegment::Set(v) => v.iter().copied(),
        })
        .collect()
}

fn next_hop(r: &Route, neighbor: Ipv4Addr) -> Ipv4Addr {
    match r.next_hop() {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => neighbor,
    }
}

/// The records of one AWS endpoint whose speaker peers with the CGW at
/// `neighbor`, from its events (time since the start, event); `epoch_ms`
/// is the wall-clock instant of the run's start in the records.
pub fn bgp_records(
    events: &[(Duration, SpeakerEvent)],
    neighbor: Ipv4Addr,
    epoch_ms: u64,
) -> Vec<TimedBgpRecord> {
    let mut out = Vec::new();
    for (at, e) in events {
        let ms = epoch_ms + at.as_millis() as u64;
        let record = match e {
            SpeakerEvent::Session {
                event: SessionEvent::StateChanged { from, to },
                ..
            } => {
                // AWS's records say when the session came up or went down:
                // the steps in between are not logged.
                if *to != State::Established && *from != State::Established {
                    continue;
                }
                let status = if *to == State::Established {
                    BgpStatus::Up
                } else {
                    BgpStatus::Down
                };
                BgpLogRecord::session(ms, status, from.name(), to.name(), neighbor)
            }
            SpeakerEvent::Rib(RibEvent::BestChanged {
                prefix,
                previous,
                best,
            }) => {
                let learned = |r: &Option<Route>| {
                    r.as_ref()
                        .filter(|r| matches!(r.source, RouteSource::Peer(_)))
                        .cloned()
                };
                let (status, route) = match (learned(previous), learned(best)) {
                    (None, Some(b)) => (RouteStatus::Advertised, b),
                    (Some(_), Some(b)) => (RouteStatus::Updated, b),
                    (Some(p), None) => (RouteStatus::Withdrawn, p),
                    (None, None) => continue,
                };
                BgpLogRecord::route(
                    ms,
                    status,
                    prefix.to_string(),
                    &as_path(&route),
                    route.med().unwrap_or(0),
                    next_hop(&route, neighbor),
                )
            }
            SpeakerEvent::Rib(RibEvent::Denied {
                prefix,
                reason: DenyReason::OwnAs,
                ..
            }) => BgpLogRecord::denied_own_as(ms, prefix.to_string(), &[], 0, neighbor),
            _ => continue,
        };
        out.push(TimedBgpRecord { at: *at, record });
    }
    out
}

/// Whether BGP record `r` of tunnel `tunnel` has every field of `want`
/// (the keys of an `aws_log` expectation: `tunnel`, `type`, `status`,
/// `details`, `details_contains`, `prefix`, `asPath`, `med`, `nextHopIp`;
/// an unknown key never matches).
pub fn bgp_record_matches(tunnel: u8, r: &BgpLogRecord, want: &BTreeMap<String, String>) -> bool {
    let json = serde_json::to_value(r).unwrap_or_default();
    let field = |k: &str| match json.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Null) | None => None,
        Some(v) => Some(v.to_string()),
    };
    want.iter().all(|(k, v)| match k.as_str() {
        "tunnel" => *v == tunnel.to_string(),
        "absent" => true,
        "details_contains" => field("details").is_some_and(|d| d.contains(v.as_str())),
        "type" | "status" | "details" | "prefix" | "asPath" | "med" | "nextHopIp"
        | "event_timestamp" | "timestamp" => field(k).as_deref() == Some(v.as_str()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::rib::PeerId;
    use bgp::route::{AsPath, IpNet, PathAttributes};
    use std::sync::Arc;
    use std::time::Instant;

    const CGW: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);

    fn route(path: Vec<u32>, med: Option<u32>) -> Route {
        let mut a = PathAttributes::originated(IpAddr::V4(CGW));
        a.as_path = AsPath(vec![AsSegment::Sequence(path)]);
        a.med = med;
        Route {
            source: RouteSource::Peer(peer()),
            attrs: Arc::new(a),
            arrival: Instant::now(),
        }
    }

    fn peer() -> PeerId {
        let mut rib = bgp::rib::Rib::new(64512, Ipv4Addr::new(169, 254, 10, 1));
        rib.add_peer(bgp::rib::PeerConfig {
            peer_as: 65000,
            peer_router_id: CGW,
            peer_address: IpAddr::V4(CGW),
            import: Default::default(),
            export: Default::default(),
        })
    }

    fn pfx() -> IpNet {
        "198.18.0.0/24".parse().unwrap()
    }

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn session_up_and_down_records_in_aws_words() {
        let ev = |from, to| SpeakerEvent::Session {
            peer: peer(),
            event: SessionEvent::StateChanged { from, to },
        };
        let recs = bgp_records(
            &[
                (at(1), ev(State::Idle, State::Active)),
                (at(1), ev(State::Connect, State::Active)),
                (at(2), ev(State::OpenConfirm, State::Established)),
                (at(40), ev(State::Established, State::Idle)),
            ],
            CGW,
            0,
        );
        assert_eq!(recs.len(), 2, "{recs:?}");
        let json: Vec<String> = recs.iter().map(|r| r.record.to_json()).collect();
        assert!(json[0].contains(r#""type":"BGPStatus""#), "{}", json[0]);
        assert!(json[0].contains(r#""status":"UP""#), "{}", json[0]);
        assert!(json[0].contains(
            "AWS-side peer BGP session state has changed from OpenConfirm to Established with neighbor 169.254.10.2"
        ));
        assert!(json[1].contains(r#""status":"DOWN""#), "{}", json[1]);
        assert!(json[1].contains("from Established to Idle"), "{}", json[1]);
    }

    #[test]
    fn routes_advertised_updated_withdrawn_and_denied() {
        let best = |previous: Option<Route>, best: Option<Route>| {
            SpeakerEvent::Rib(RibEvent::BestChanged {
                prefix: pfx(),
                previous,
                best,
            })
        };
        let recs = bgp_records(
            &[
                (at(1), best(None, Some(route(vec![65000], None)))),
                (
                    at(2),
                    best(
                        Some(route(vec![65000], None)),
                        Some(route(vec![65000, 65000], Some(50))),
                    ),
                ),
                (at(3), best(Some(route(vec![65000, 65000], Some(50))), None)),
                (
                    at(4),
                    SpeakerEvent::Rib(RibEvent::Denied {
                        peer: peer(),
                        prefix: pfx(),
                        reason: DenyReason::OwnAs,
                    }),
                ),
            ],
            CGW,
            0,
        );
        let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(bgp_record_matches(
            1,
            &recs[0].record,
            &m(&[
                ("type", "RouteStatus"),
                ("status", "ADVERTISED"),
                ("prefix", "198.18.0.0/24"),
                ("asPath", "65000"),
                ("nextHopIp", "169.254.10.2"),
            ])
        ));
        assert!(bgp_record_matches(
            1,
            &recs[1].record,
            &m(&[
                ("status", "UPDATED"),
                ("asPath", "65000 65000"),
                ("med", "50")
            ])
        ));
        assert!(bgp_record_matches(
            1,
            &recs[2].record,
            &m(&[("status", "WITHDRAWN")])
        ));
        assert!(bgp_record_matches(
            1,
            &recs[3].record,
            &m(&[("details_contains", "as-path contains our own AS")])
        ));
        // Wrong tunnel, unknown key, other value: no match.
        assert!(!bgp_record_matches(
            2,
            &recs[0].record,
            &m(&[("tunnel", "1")])
        ));
        assert!(!bgp_record_matches(
            1,
            &recs[0].record,
            &m(&[("ike_phase1_state", "Down")])
        ));
        assert!(!bgp_record_matches(
            1,
            &recs[0].record,
            &m(&[("status", "WITHDRAWN")])
        ));
    }
}
