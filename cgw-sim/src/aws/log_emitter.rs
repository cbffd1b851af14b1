//! What the AWS side logs and notifies, computed from an AWS tunnel
//! endpoint's events: pure functions, so that the wording and the states
//! can be tested without running a lab.
//!
//! [`tunnel_log`] turns one AWS tunnel's [`TunnelEventKind`]s (plus the
//! maintenance events the runner injects) into the per-tunnel JSON records
//! of AWS-VPN-FACTS.md section 4. What AWS does not log is not logged: a
//! CGW whose source address is not the configured customer gateway IP is
//! dropped before IKE (no event, so no record).
//!
//! [`up_changes`] and [`notifications`] give the AWS side's view of the
//! connection: when each tunnel carries traffic, and the notifications
//! that follow from it.

use std::net::IpAddr;
use std::time::Duration;

use ike::sa::{DeletedBy, Failure};

use super::logs::{details, PhaseState, TunnelLogRecord};
use crate::node::{DownCause, TunnelEventKind};

/// The epoch the lab's virtual time starts at in log timestamps
/// (2024-01-01T00:00:00Z, in milliseconds): fixed so that a seed gives the
/// same records every run.
pub const LAB_EPOCH_MS: u64 = 1_704_067_200_000;

/// How long the connection must have had exactly one tunnel up before AWS
/// sends the single-tunnel notification ("more than an hour a day",
/// AWS-VPN-FACTS.md section 2).
pub const NON_REDUNDANT_AFTER: Duration = Duration::from_secs(3600);

/// One input of an AWS tunnel's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogInput {
    /// The AWS endpoint's gateway reported this.
    Gateway(TunnelEventKind),
    /// AWS replaced the endpoint (maintenance): every SA is gone.
    EndpointReplaced,
}

/// What a tunnel's records carry besides the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelLogSettings {
    /// The customer gateway IP configured at AWS (named in some details).
    pub cgw: IpAddr,
    /// Whether DPD is on (`dpd_enabled`): the tunnel's DPD timeout action
    /// is not `none`.
    pub dpd_enabled: bool,
    /// Epoch milliseconds of the run's start (see [`LAB_EPOCH_MS`]).
    pub epoch_ms: u64,
}

/// A record with its time since the start of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedRecord {
    /// Since the start of the run.
    pub at: Duration,
    /// The record.
    pub record: TunnelLogRecord,
}

/// Wording for events AWS-VPN-FACTS.md does not quote AWS for (state
/// changes and maintenance). They are the mock's own, so an `aws_log`
/// expectation on them checks the mock, not AWS.
mod mock_details {
    use std::net::IpAddr;

    pub(super) fn phase1_established(cgw: IpAddr) -> String {
        format!("AWS tunnel Phase 1 established with cgw: {cgw}")
    }
    pub(super) fn phase2_established(cgw: IpAddr) -> String {
        format!("AWS tunnel Phase 2 established with cgw: {cgw}")
    }
    pub(super) fn phase2_rekeyed(spi_in: u32, replaces: u32) -> String {
        format!("AWS tunnel Phase 2 SA rekeyed: SPI {spi_in:08x} replaces {replaces:08x}")
    }
    pub(super) fn phase1_rekeyed() -> String {
        "AWS tunnel Phase 1 IKE_SA rekeyed".into()
    }
    pub(super) fn phase1_failed(why: &str) -> String {
        format!("AWS tunnel Phase 1 failed: {why}")
    }
    pub(super) fn deleted_ike_sa(cgw: IpAddr) -> String {
        format!("AWS tunnel deleted IKE_SA with cgw: {cgw}")
    }
    pub(super) fn phase2_failed(why: &str) -> String {
        format!("AWS tunnel Phase 2 failed: {why}")
    }
    pub(super) fn deleted_phase2() -> String {
        "AWS tunnel deleted its Phase 2 SA".into()
    }
    pub(super) fn refused_additional_phase2(answered: &str, pair: &str) -> String {
        format!(
            "AWS tunnel refused an additional Phase 2 SA with {answered}: one SA pair per tunnel (proposed {pair})"
        )
    }
    pub(super) fn endpoint_replaced() -> String {
        "AWS tunnel endpoint replaced (maintenance): all SAs cleared, waiting for the CGW to initiate"
            .into()
    }
}

/// The tunnel records of one AWS tunnel, in time order. `events` are in
/// time order (times since the start of the run).
pub fn tunnel_log(s: &TunnelLogSettings, events: &[(Duration, LogInput)]) -> Vec<TimedRecord> {
    use PhaseState::{Down, Established, Negotiating};
    let mut out = Vec::new();
    let (mut p1, mut p2, mut nat) = (Down, Down, false);
    for (i, (at, input)) in events.iter().enumerate() {
        // Events of the same instant (a Delete's children, then the SA).
        let same_instant = || {
            events[i + 1..]
                .iter()
                .take_while(|(t, _)| t == at)
                .filter_map(|(_, e)| match e {
                    LogInput::Gateway(TunnelEventKind::Down { cause, .. }) => Some(cause),
                    _ => None,
                })
        };
        let mut details: Vec<String> = Vec::new();
        match input {
            LogInput::EndpointReplaced => {
                (p1, p2) = (Down, Down);
                details.push(mock_details::endpoint_replaced());
            }
            LogInput::Gateway(kind) => match kind {
                TunnelEventKind::IkeUp { nat_t_detected } => {
                    nat = *nat_t_detected;
                    (p1, p2) = (Established, Negotiating);
                    details.push(mock_details::phase1_established(s.cgw));
                }
                TunnelEventKind::Up => {
                    (p1, p2) = (Established, Established);
                    details.push(mock_details::phase2_established(s.cgw));
                }
                TunnelEventKind::ChildRekeyed { spi_in, replaces } => {
                    p2 = Established;
                    details.push(mock_details::phase2_rekeyed(*spi_in, *replaces));
                }
                TunnelEventKind::IkeRekeyed => details.push(mock_details::phase1_rekeyed()),
                // The tunnel's pair stays up: AWS refused only the extra one.
                TunnelEventKind::ChildRefused { failure, tsi, tsr } => {
                    details.push(match failure {
                        Failure::PeerTsUnacceptable { .. } => details::ts_unacceptable(),
                        Failure::ChildSaLimit { answered, .. } => {
                            let pair = format!("{} <-> {}", ts_cidrs(tsi), ts_cidrs(tsr));
                            mock_details::refused_additional_phase2(&answered.to_string(), &pair)
                        }
                        Failure::TsUnacceptable { .. } => {
                            let pair = format!("{} <-> {}", ts_cidrs(tsi), ts_cidrs(tsr));
                            mock_details::refused_additional_phase2("TS_UNACCEPTABLE", &pair)
                        }
                        other => mock_details::phase2_failed(&other.to_string()),
                    })
                }
                TunnelEventKind::ChildRekeyCollision { .. } => {
                    details.push(details::child_rekey_collision())
                }
                TunnelEventKind::ChildRemoved { spi_out, by } => {
                    // A Delete for the IKE SA takes its children with it:
                    // AWS logs the IKE_SA delete only.
                    let ike_gone = same_instant().any(|c| matches!(c, DownCause::IkeClosed(_)));
                    if *by == DeletedBy::Peer && !ike_gone {
                        if same_instant().any(|c| matches!(c, DownCause::ChildDeleted(_))) {
                            p2 = Down;
                        }
                        details.push(match spi_out {
                            Some(spi) => details::received_delete_child_sa(*spi),
                            None => "AWS tunnel received DELETE for Phase 2 SA".into(),
                        });
                    }
                }
                TunnelEventKind::Down { cause, .. } => match cause {
                    DownCause::IkeFailed(f) => {
                        (p1, p2) = (Down, Down);
                        details.extend(phase1_failure(s.cgw, f));
                    }
                    DownCause::ChildFailed(f) => {
                        p2 = Down;
                        match f {
                            Failure::NoProposalChosen(_) => {
                                details.push(details::no_proposal_chosen())
                            }
                            Failure::PeerTsUnacceptable { .. } => {
                                details.push(details::ts_unacceptable())
                            }
                            _ => {}
                        }
                        details.push(details::phase2_unable_to_establish());
                    }
                    DownCause::DpdTimeout { retransmits } => {
                        (p1, p2) = (Down, Down);
                        details.push(details::dpd_timed_out(*retransmits));
                    }
                    // Only a CGW idles out; were it AWS, it deleted the SA.
                    DownCause::IdleTimeout { .. } => {
                        (p1, p2) = (Down, Down);
                        details.push(mock_details::deleted_ike_sa(s.cgw));
                    }
                    DownCause::IkeClosed(by) => {
                        (p1, p2) = (Down, Down);
                        details.push(match by {
                            DeletedBy::Peer => details::received_delete_ike_sa(),
                            DeletedBy::Us => mock_details::deleted_ike_sa(s.cgw),
                        });
                    }
                    // The CGW's Delete was logged with its SPI just before.
                    DownCause::ChildDeleted(DeletedBy::Peer) => p2 = Down,
                    DownCause::ChildDeleted(DeletedBy::Us) => {
                        p2 = Down;
                        details.push(mock_details::deleted_phase2());
                    }
                    // Only an IKEv1 initiator reports this, and the AWS
                    // side never is one.
                    DownCause::IkeVersionMismatch { .. } => (p1, p2) = (Down, Down),
                },
            },
        }
        let epoch_ms = s.epoch_ms + at.as_millis() as u64;
        for d in details {
            out.push(TimedRecord {
                at: *at,
                record: TunnelLogRecord::new(epoch_ms, s.dpd_enabled, nat, p1, p2, d),
            });
        }
    }
    out
}

/// The details of an IKE SA that failed (AWS's words where AWS-VPN-FACTS.md
/// has them).
fn phase1_failure(cgw: IpAddr, f: &Failure) -> Vec<String> {
    let mut v = Vec::new();
    if f.is_local_psk_mismatch() {
        v.push(details::psk_mismatch(cgw));
    }
    if f.sent_authentication_failed() {
        v.push(details::sending_authentication_failed());
    }
    if !v.is_empty() {
        return v;
    }
    v.push(match f {
        Failure::NoProposalChosen(_) => details::no_proposal_match(),
        Failure::HalfOpenTimeout => details::half_open_timeout(cgw),
        Failure::PeerTsUnacceptable { .. } => details::ts_unacceptable(),
        other => mock_details::phase1_failed(&other.to_string()),
    });
    v
}

/// Selectors as CIDRs where they are whole prefixes ("198.18.1.0/24"),
/// ranges otherwise.
pub fn ts_cidrs(ts: &[ike::wire::TrafficSelector]) -> String {
    let one = |t: &ike::wire::TrafficSelector| match (t.start_addr, t.end_addr) {
        (IpAddr::V4(lo), IpAddr::V4(hi)) => {
            let (lo, hi) = (u32::from(lo), u32::from(hi));
            let span = hi.wrapping_sub(lo).wrapping_add(1);
            if lo <= hi && (span == 0 || (span.is_power_of_two() && lo % span == 0)) {
                let len = if span == 0 {
                    0
                } else {
                    32 - span.trailing_zeros()
                };
                format!("{}/{len}", std::net::Ipv4Addr::from(lo))
            } else {
                format!(
                    "{}-{}",
                    std::net::Ipv4Addr::from(lo),
                    std::net::Ipv4Addr::from(hi)
                )
            }
        }
        (a, b) => format!("{a}-{b}"),
    };
    ts.iter().map(one).collect::<Vec<_>>().join(", ")
}

/// When the tunnel starts and stops carrying traffic (the CloudWatch
/// `TunnelState` metric going to 1 and to 0), from its events in time
/// order.
pub fn up_changes(events: &[(Duration, LogInput)]) -> Vec<(Duration, bool)> {
    let mut out: Vec<(Duration, bool)> = Vec::new();
    let mut up = false;
    for (at, e) in events {
        let now_up = match e {
            LogInput::EndpointReplaced => false,
            LogInput::Gateway(TunnelEventKind::Up) => true,
            LogInput::Gateway(TunnelEventKind::Down { .. }) => false,
            LogInput::Gateway(_) => up,
        };
        if now_up != up {
            up = now_up;
            out.push((*at, up));
        }
    }
    out
}

/// A notification the AWS side issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsNotice {
    /// The single-tunnel notification ("You have new non-redundant VPN
    /// connections"): the connection has had exactly one tunnel up for
    /// [`NON_REDUNDANT_AFTER`] in all.
    NonRedundant,
    /// Tunnel `n` (1 or 2) stopped carrying traffic (its `TunnelState`
    /// went from 1 to 0: what a CloudWatch alarm on it reports).
    TunnelDown(u8),
}

/// The notifications over a run ending at `end`, from the two tunnels'
/// [`up_changes`], in time order. The single-tunnel notification is sent
/// once.
pub fn notifications(
    tunnels: [&[(Duration, bool)]; 2],
    end: Duration,
) -> Vec<(Duration, AwsNotice)> {
    let mut out = Vec::new();
    let mut changes: Vec<(Duration, usize, bool)> = tunnels
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.iter().map(move |(t, up)| (*t, i, *up)))
        .collect();
    changes.sort_by_key(|c| (c.0, c.1));
    let mut up = [false; 2];
    let mut single = Duration::ZERO;
    let mut last = Duration::ZERO;
    let mut sent = false;
    // Each change, then the end of the run: the time since the previous
    // point counts as single-tunnel time when exactly one tunnel was up.
    let points = changes.into_iter().map(Some).chain(std::iter::once(None));
    for p in points {
        let to = p.map_or(end, |c| c.0).max(last);
        if up[0] != up[1] && !sent {
            let need = NON_REDUNDANT_AFTER - single;
            if to - last >= need {
                out.push((last + need, AwsNotice::NonRedundant));
                sent = true;
            }
            single += to - last;
        }
        last = to;
        if let Some((t, i, now_up)) = p {
            if up[i] && !now_up {
                out.push((t, AwsNotice::TunnelDown(i as u8 + 1)));
            }
            up[i] = now_up;
        }
    }
    out.sort_by_key(|n| n.0);
    out
}

/// The keys an `aws_log` expectation may give: the record's fields, the
/// tunnel (1 or 2), `details_contains` (a substring of `details`) and
/// `absent` (`true`: no such record may appear).
pub const AWS_LOG_KEYS: &[&str] = &[
    "tunnel",
    "details",
    "details_contains",
    "dpd_enabled",
    "nat_t_detected",
    "ike_phase1_state",
    "ike_phase2_state",
    "event_timestamp",
    "timestamp",
    "absent",
    // BGP records (`crate::aws::bgp_log_emitter`).
    "type",
    "status",
    "prefix",
    "asPath",
    "med",
    "nextHopIp",
];

/// Checks one `aws_log` key and its value; `Err` says what is wrong.
pub fn check_aws_log_key(key: &str, value: &str) -> Result<(), String> {
    let one_of = |allowed: &[&str]| {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "\"{value}\" is not one of {}",
                allowed
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    match key {
        "tunnel" => one_of(&["1", "2"]),
        "dpd_enabled" | "nat_t_detected" | "absent" => one_of(&["true", "false"]),
        "ike_phase1_state" | "ike_phase2_state" => {
            one_of(&["Established", "Rekeying", "Negotiating", "Down"])
        }
        "event_timestamp" => value
            .parse::<u64>()
            .map(|_| ())
            .map_err(|_| format!("\"{value}\" is not epoch seconds")),
        "details" | "details_contains" | "timestamp" if value.is_empty() => {
            Err("must not be empty".into())
        }
        "details" | "details_contains" | "timestamp" => Ok(()),
        "type" => one_of(&["BGPStatus", "RouteStatus"]),
        "status" => one_of(&["UP", "DOWN", "ADVERTISED", "UPDATED", "WITHDRAWN"]),
        "med" => value
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| format!("\"{value}\" is not a MED (0 to 4294967295)")),
        "nextHopIp" => value
            .parse::<std::net::Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| format!("\"{value}\" is not an IPv4 address")),
        "prefix" | "asPath" if value.is_empty() => Err("must not be empty".into()),
        "prefix" | "asPath" => Ok(()),
        other => Err(format!(
            "unknown field \"{other}\"; fields are: {}",
            AWS_LOG_KEYS.join(", ")
        )),
    }
}

/// Whether tunnel `tunnel`'s record matches every field of `want` (keys
/// of [`AWS_LOG_KEYS`] except `absent`, values compared as strings).
pub fn record_matches(
    tunnel: u8,
    r: &TunnelLogRecord,
    want: &std::collections::BTreeMap<String, String>,
) -> bool {
    let bool_str = |b: bool| if b { "true" } else { "false" };
    let state = |p: PhaseState| match p {
        PhaseState::Established => "Established",
        PhaseState::Rekeying => "Rekeying",
        PhaseState::Negotiating => "Negotiating",
        PhaseState::Down => "Down",
    };
    want.iter().all(|(k, v)| match k.as_str() {
        "tunnel" => *v == tunnel.to_string(),
        "details" => *v == r.details,
        "details_contains" => r.details.contains(v.as_str()),
        "dpd_enabled" => v == bool_str(r.dpd_enabled),
        "nat_t_detected" => v == bool_str(r.nat_t_detected),
        "ike_phase1_state" => v == state(r.ike_phase1_state),
        "ike_phase2_state" => v == state(r.ike_phase2_state),
        "event_timestamp" => *v == r.event_timestamp.to_string(),
        "timestamp" => *v == r.timestamp,
        "absent" => true,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike::sa::auth_failure;
    use std::net::Ipv4Addr;

    const CGW: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

    fn settings() -> TunnelLogSettings {
        TunnelLogSettings {
            cgw: CGW,
            dpd_enabled: true,
            epoch_ms: LAB_EPOCH_MS,
        }
    }

    fn gw(ms: u64, k: TunnelEventKind) -> (Duration, LogInput) {
        (Duration::from_millis(ms), LogInput::Gateway(k))
    }

    fn down(ms: u64, cause: DownCause, was_up: bool) -> (Duration, LogInput) {
        gw(ms, TunnelEventKind::Down { cause, was_up })
    }

    fn texts(r: &[TimedRecord]) -> Vec<&str> {
        r.iter().map(|r| r.record.details.as_str()).collect()
    }

    #[test]
    fn psk_mismatch_detected_by_the_responder() {
        let f = Failure::AuthenticationFailed(auth_failure::INITIATOR_PSK);
        let r = tunnel_log(&settings(), &[down(30, DownCause::IkeFailed(f), false)]);
        assert_eq!(
            texts(&r),
            [
                "AWS tunnel detected a pre-shared key mismatch with cgw: 192.0.2.10",
                "AWS tunnel is sending AUTHENTICATION_FAILED as the response"
            ]
        );
        let rec = &r[0].record;
        assert_eq!(
            (rec.ike_phase1_state, rec.ike_phase2_state),
            (PhaseState::Down, PhaseState::Down)
        );
        assert_eq!(rec.event_timestamp, LAB_EPOCH_MS / 1000);
        assert_eq!(rec.timestamp, "2024-01-01 00:00:00.030Z");
        // As initiator (startup action start) AWS detects it but sends no
        // AUTHENTICATION_FAILED response.
        let f = Failure::AuthenticationFailed(auth_failure::RESPONDER_PSK);
        let r = tunnel_log(&settings(), &[down(30, DownCause::IkeFailed(f), false)]);
        assert_eq!(
            texts(&r),
            ["AWS tunnel detected a pre-shared key mismatch with cgw: 192.0.2.10"]
        );
    }

    #[test]
    fn up_rekey_delete_and_dpd_in_aws_words() {
        let events = [
            gw(
                100,
                TunnelEventKind::IkeUp {
                    nat_t_detected: true,
                },
            ),
            gw(100, TunnelEventKind::Up),
            gw(
                5000,
                TunnelEventKind::ChildRekeyed {
                    spi_in: 0x1234,
                    replaces: 0x99,
                },
            ),
            gw(
                5030,
                TunnelEventKind::ChildRemoved {
                    spi_out: Some(0xabcdef01),
                    by: DeletedBy::Peer,
                },
            ),
            down(90_000, DownCause::DpdTimeout { retransmits: 3 }, true),
        ];
        let r = tunnel_log(&settings(), &events);
        assert_eq!(
            texts(&r),
            [
                "AWS tunnel Phase 1 established with cgw: 192.0.2.10",
                "AWS tunnel Phase 2 established with cgw: 192.0.2.10",
                "AWS tunnel Phase 2 SA rekeyed: SPI 00001234 replaces 00000099",
                "AWS tunnel received DELETE for Phase 2 SA with SPI: abcdef01",
                "AWS tunnel DPD timed out after 3 retransmits",
            ]
        );
        assert!(r.iter().all(|r| r.record.nat_t_detected));
        assert_eq!(r[0].record.ike_phase2_state, PhaseState::Negotiating);
        assert_eq!(r[3].record.ike_phase2_state, PhaseState::Established);
        assert_eq!(r[4].record.ike_phase1_state, PhaseState::Down);
        assert_eq!(r[4].at, Duration::from_secs(90));
        let json = r[4].record.to_json();
        assert!(json.contains("\"dpd_enabled\":true"), "{json}");
    }

    #[test]
    fn ike_delete_from_the_cgw_is_one_record() {
        let events = [
            gw(100, TunnelEventKind::Up),
            gw(
                7000,
                TunnelEventKind::ChildRemoved {
                    spi_out: Some(7),
                    by: DeletedBy::Peer,
                },
            ),
            down(7000, DownCause::IkeClosed(DeletedBy::Peer), true),
        ];
        let r = tunnel_log(&settings(), &events);
        assert_eq!(
            texts(&r)[1..],
            ["AWS tunnel received DELETE for IKE_SA from CGW"]
        );
    }

    #[test]
    fn no_proposal_phase1_and_phase2() {
        let m = ike::sa::proposal::Mismatch {
            transform: ike::wire::TransformType::DH,
            offered: vec!["5".into()],
            accepted: vec!["14".into()],
        };
        let p1 = Failure::NoProposalChosen(m.clone());
        let p2 = Failure::NoProposalChosen(m);
        let r = tunnel_log(
            &settings(),
            &[
                down(10, DownCause::IkeFailed(p1), false),
                gw(
                    20,
                    TunnelEventKind::IkeUp {
                        nat_t_detected: false,
                    },
                ),
                down(20, DownCause::ChildFailed(p2), false),
            ],
        );
        assert_eq!(
            texts(&r),
            [
                "No Proposal Match Found by AWS",
                "AWS tunnel Phase 1 established with cgw: 192.0.2.10",
                "No Proposal Match Found. Notifying with \"No proposal chosen\"",
                "AWS tunnel Phase 2 was unable to establish while keeping Phase 1",
            ]
        );
        assert_eq!(r[3].record.ike_phase1_state, PhaseState::Established);
        assert_eq!(r[3].record.ike_phase2_state, PhaseState::Down);
    }

    #[test]
    fn endpoint_replacement_is_logged_and_takes_the_tunnel_down() {
        let events = [
            gw(100, TunnelEventKind::Up),
            (Duration::from_secs(60), LogInput::EndpointReplaced),
            gw(75_000, TunnelEventKind::Up),
        ];
        let r = tunnel_log(&settings(), &events);
        assert_eq!(r[1].record.ike_phase1_state, PhaseState::Down);
        assert!(r[1].record.details.contains("endpoint replaced"));
        assert_eq!(
            up_changes(&events),
            [
                (Duration::from_millis(100), true),
                (Duration::from_secs(60), false),
                (Duration::from_secs(75), true)
            ]
        );
    }

    #[test]
    fn single_tunnel_notice_after_an_hour_in_all() {
        let t1 = [(Duration::from_secs(1), true)];
        // Tunnel 2 up at 2s, down 10m-50m and from 2h: 40m + 30m = 1h10m
        // single; the notice comes at 2h + 20m.
        let t2 = [
            (Duration::from_secs(2), true),
            (Duration::from_secs(600), false),
            (Duration::from_secs(3000), true),
            (Duration::from_secs(7200), false),
        ];
        let n = notifications([&t1, &t2], Duration::from_secs(3 * 3600));
        assert_eq!(
            n,
            [
                (Duration::from_secs(600), AwsNotice::TunnelDown(2)),
                (Duration::from_secs(7200), AwsNotice::TunnelDown(2)),
                (
                    Duration::from_secs(7200 + 1200 - 1),
                    AwsNotice::NonRedundant
                ),
            ]
        );
        // Both up all along: nothing.
        let n = notifications([&t1, &t2[..1]], Duration::from_secs(3 * 3600));
        assert!(n.is_empty(), "{n:?}");
    }

    #[test]
    fn expectation_keys_are_checked_and_matched() {
        assert!(check_aws_log_key("tunnel", "1").is_ok());
        assert!(check_aws_log_key("tunnel", "3")
            .unwrap_err()
            .contains("\"1\", \"2\""));
        assert!(check_aws_log_key("ike_phase1_state", "up").is_err());
        assert!(check_aws_log_key("event", "x")
            .unwrap_err()
            .contains("unknown field \"event\""));
        assert!(check_aws_log_key("details", "").is_err());
        let r = TunnelLogRecord::new(
            LAB_EPOCH_MS,
            true,
            false,
            PhaseState::Down,
            PhaseState::Down,
            details::dpd_timed_out(3),
        );
        let want = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(record_matches(
            1,
            &r,
            &want(&[
                ("tunnel", "1"),
                ("ike_phase1_state", "Down"),
                ("dpd_enabled", "true"),
                ("details_contains", "DPD timed out")
            ])
        ));
        assert!(!record_matches(2, &r, &want(&[("tunnel", "1")])));
        assert!(!record_matches(1, &r, &want(&[("nat_t_detected", "true")])));
        assert!(!record_matches(1, &r, &want(&[("details", "DPD")])));
    }
}
