//! AWS Site-to-Site VPN log records (AWS-VPN-FACTS.md section 4) as the
//! mock emits them: per-tunnel IKE records, BGP status and route records,
//! the CloudWatch `TunnelState` metric and the "non-redundant VPN
//! connections" health notification. Every type serialises to the JSON
//! AWS writes; the `details` strings come from the constructors in
//! [`details`], worded as AWS words them.
//!
//! Times are epoch milliseconds: `event_timestamp` is whole seconds,
//! `timestamp` the same instant as `YYYY-MM-DD HH:MM:SS.mmmZ` (UTC).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// An IKE phase's state in a tunnel record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhaseState {
    /// The SA is up.
    Established,
    /// The SA is being rekeyed.
    Rekeying,
    /// The SA is being negotiated.
    Negotiating,
    /// No SA.
    Down,
}

/// Formats epoch milliseconds as `YYYY-MM-DD HH:MM:SS.mmmZ` (UTC).
pub fn format_timestamp(epoch_ms: u64) -> String {
    let ms = epoch_ms % 1000;
    let secs = epoch_ms / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Howard Hinnant's civil_from_days.
    let days = (secs / 86400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// One tunnel activity record (IKE negotiation, DPD, SA state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelLogRecord {
    /// Epoch seconds.
    pub event_timestamp: u64,
    /// The same instant, human readable.
    pub timestamp: String,
    /// Whether dead peer detection is on.
    pub dpd_enabled: bool,
    /// Whether NAT traversal was detected.
    pub nat_t_detected: bool,
    /// Phase 1 (IKE SA) state.
    pub ike_phase1_state: PhaseState,
    /// Phase 2 (child SA) state.
    pub ike_phase2_state: PhaseState,
    /// What happened, in AWS's words (see [`details`]).
    pub details: String,
}

impl TunnelLogRecord {
    /// A record at `epoch_ms` with the given states and details.
    pub fn new(
        epoch_ms: u64,
        dpd_enabled: bool,
        nat_t_detected: bool,
        phase1: PhaseState,
        phase2: PhaseState,
        details: impl Into<String>,
    ) -> TunnelLogRecord {
        TunnelLogRecord {
            event_timestamp: epoch_ms / 1000,
            timestamp: format_timestamp(epoch_ms),
            dpd_enabled,
            nat_t_detected,
            ike_phase1_state: phase1,
            ike_phase2_state: phase2,
            details: details.into(),
        }
    }

    /// The record as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// The `details` strings of AWS's tunnel records (IKEv2), exactly as AWS
/// writes them.
pub mod details {
    use std::net::IpAddr;

    /// DPD declared the CGW dead after `n` unanswered probes.
    pub fn dpd_timed_out(retransmits: u32) -> String {
        format!("AWS tunnel DPD timed out after {retransmits} retransmits")
    }

    /// The CGW deleted the IKE SA.
    pub fn received_delete_ike_sa() -> String {
        "AWS tunnel received DELETE for IKE_SA from CGW".into()
    }

    /// The CGW deleted a child SA; `spi` as AWS prints it (hex).
    pub fn received_delete_child_sa(spi: u32) -> String {
        format!("AWS tunnel received DELETE for Phase 2 SA with SPI: {spi:08x}")
    }

    /// A simultaneous child rekey, resolved by deleting one child.
    pub fn child_rekey_collision() -> String {
        "AWS tunnel detected a (CHILD_REKEY) collision as CHILD_DELETE".into()
    }

    /// Phase 2 failed while phase 1 stays up.
    pub fn phase2_unable_to_establish() -> String {
        "AWS tunnel Phase 2 was unable to establish while keeping Phase 1".into()
    }

    /// The selectors were refused.
    pub fn ts_unacceptable() -> String {
        "AWS: Traffic Selector: TS_UNACCEPTABLE: received from responder".into()
    }

    /// AWS refuses the CGW's authentication.
    pub fn sending_authentication_failed() -> String {
        "AWS tunnel is sending AUTHENTICATION_FAILED as the response".into()
    }

    /// The pre-shared keys differ.
    pub fn psk_mismatch(cgw: IpAddr) -> String {
        format!("AWS tunnel detected a pre-shared key mismatch with cgw: {cgw}")
    }

    /// A half-open IKE SA expired.
    pub fn half_open_timeout(cgw: IpAddr) -> String {
        format!("AWS tunnel Timeout: deleting un-established Phase 1 IKE_SA with cgw: {cgw}")
    }

    /// Nothing the CGW offered is allowed.
    pub fn no_proposal_match() -> String {
        "No Proposal Match Found by AWS".into()
    }

    /// ... and AWS answers NO_PROPOSAL_CHOSEN.
    pub fn no_proposal_chosen() -> String {
        "No Proposal Match Found. Notifying with \"No proposal chosen\"".into()
    }

    /// AWS answered a CREATE_CHILD_SA request with message ID `id`.
    pub fn processed_create_child_sa(id: u32) -> String {
        format!("AWS tunnel processed request (id={id}) for CREATE_CHILD_SA")
    }
}

/// BGP session status in a [`BgpStatusRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BgpStatus {
    /// Established.
    #[serde(rename = "UP")]
    Up,
    /// Not established.
    #[serde(rename = "DOWN")]
    Down,
}

/// A BGP route's fate in a [`RouteStatusRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteStatus {
    /// A new route.
    #[serde(rename = "ADVERTISED")]
    Advertised,
    /// A changed route.
    #[serde(rename = "UPDATED")]
    Updated,
    /// A withdrawn route.
    #[serde(rename = "WITHDRAWN")]
    Withdrawn,
}

/// A BGP log record: session status or a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BgpLogRecord {
    /// The session changed state.
    #[serde(rename = "BGPStatus")]
    BgpStatus(BgpStatusRecord),
    /// A route came, changed, went or was denied.
    #[serde(rename = "RouteStatus")]
    RouteStatus(RouteStatusRecord),
}

/// The body of a `BGPStatus` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpStatusRecord {
    /// Epoch seconds.
    pub event_timestamp: u64,
    /// The same instant, human readable.
    pub timestamp: String,
    /// UP or DOWN.
    pub status: BgpStatus,
    /// AWS's wording of the change.
    pub details: String,
}

/// The body of a `RouteStatus` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStatusRecord {
    /// Epoch seconds.
    pub event_timestamp: u64,
    /// The same instant, human readable.
    pub timestamp: String,
    /// ADVERTISED, UPDATED or WITHDRAWN.
    pub status: RouteStatus,
    /// The prefix, e.g. `10.1.0.0/16`.
    pub prefix: String,
    /// The AS path, space separated.
    #[serde(rename = "asPath")]
    pub as_path: String,
    /// The MULTI_EXIT_DISC (0 when absent).
    pub med: u32,
    /// The next hop.
    #[serde(rename = "nextHopIp")]
    pub next_hop_ip: Ipv4Addr,
    /// Why a route was denied; absent for accepted routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Why AWS denied a route whose AS_PATH holds AWS's own AS.
pub const DENIED_OWN_AS: &str = "DENIED due to: as-path contains our own AS";

impl BgpLogRecord {
    /// The session reached Established with `neighbor` (status UP).
    pub fn established(epoch_ms: u64, neighbor: Ipv4Addr) -> BgpLogRecord {
        BgpLogRecord::session(
            epoch_ms,
            BgpStatus::Up,
            "OpenConfirm",
            "Established",
            neighbor,
        )
    }

    /// The session changed from `from` to `to` (FSM state names as AWS
    /// prints them: Idle, Connect, Active, OpenSent, OpenConfirm,
    /// Established).
    pub fn session(
        epoch_ms: u64,
        status: BgpStatus,
        from: &str,
        to: &str,
        neighbor: Ipv4Addr,
    ) -> BgpLogRecord {
        BgpLogRecord::BgpStatus(BgpStatusRecord {
            event_timestamp: epoch_ms / 1000,
            timestamp: format_timestamp(epoch_ms),
            status,
            details: format!(
                "AWS-side peer BGP session state has changed from {from} to {to} with neighbor {neighbor}"
            ),
        })
    }

    /// A route record.
    pub fn route(
        epoch_ms: u64,
        status: RouteStatus,
        prefix: impl Into<String>,
        as_path: &[u32],
        med: u32,
        next_hop_ip: Ipv4Addr,
    ) -> BgpLogRecord {
        BgpLogRecord::RouteStatus(RouteStatusRecord {
            event_timestamp: epoch_ms / 1000,
            timestamp: format_timestamp(epoch_ms),
            status,
            prefix: prefix.into(),
            as_path: as_path
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            med,
            next_hop_ip,
            details: None,
        })
    }

    /// A route the CGW advertised that AWS denied because its AS_PATH
    /// holds AWS's own AS.
    pub fn denied_own_as(
        epoch_ms: u64,
        prefix: impl Into<String>,
        as_path: &[u32],
        med: u32,
        next_hop_ip: Ipv4Addr,
    ) -> BgpLogRecord {
        let mut r = BgpLogRecord::route(
            epoch_ms,
            RouteStatus::Advertised,
            prefix,
            as_path,
            med,
            next_hop_ip,
        );
        if let BgpLogRecord::RouteStatus(r) = &mut r {
            r.details = Some(DENIED_OWN_AS.into());
        }
        r
    }

    /// The record as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// A dimension of a CloudWatch datapoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dimension {
    /// `VpnId` or `TunnelIpAddress`.
    #[serde(rename = "Name")]
    pub name: String,
    /// Its value.
    #[serde(rename = "Value")]
    pub value: String,
}

/// A datapoint of the CloudWatch metric `AWS/VPN` `TunnelState`: 1 when
/// the tunnel is up (for a BGP connection: only when BGP is Established),
/// 0 when down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TunnelStateMetric {
    /// Always `AWS/VPN`.
    #[serde(rename = "Namespace")]
    pub namespace: &'static str,
    /// Always `TunnelState`.
    #[serde(rename = "MetricName")]
    pub metric_name: &'static str,
    /// `VpnId` and `TunnelIpAddress` (the AWS outside IP).
    #[serde(rename = "Dimensions")]
    pub dimensions: Vec<Dimension>,
    /// Epoch seconds.
    #[serde(rename = "Timestamp")]
    pub timestamp: u64,
    /// 1 up, 0 down.
    #[serde(rename = "Value")]
    pub value: u8,
}

impl TunnelStateMetric {
    /// A datapoint; `value` is from [`tunnel_state`].
    pub fn new(epoch_ms: u64, vpn_id: &str, tunnel_ip: Ipv4Addr, value: u8) -> TunnelStateMetric {
        TunnelStateMetric {
            namespace: "AWS/VPN",
            metric_name: "TunnelState",
            dimensions: vec![
                Dimension {
                    name: "VpnId".into(),
                    value: vpn_id.into(),
                },
                Dimension {
                    name: "TunnelIpAddress".into(),
                    value: tunnel_ip.to_string(),
                },
            ],
            timestamp: epoch_ms / 1000,
            value,
        }
    }

    /// The datapoint as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// The TunnelState value: 1 when phase 2 is up (established or
/// rekeying) and, for a BGP connection (`bgp` is `Some`), the session is
/// Established; otherwise 0.
pub fn tunnel_state(phase2: PhaseState, bgp: Option<bool>) -> u8 {
    let ipsec_up = matches!(phase2, PhaseState::Established | PhaseState::Rekeying);
    u8::from(ipsec_up && bgp.unwrap_or(true))
}

/// The AWS Health event type of the single-tunnel notification.
pub const SINGLE_TUNNEL_EVENT_TYPE: &str = "AWS_VPN_SINGLE_TUNNEL_NOTIFICATION";
/// Its text.
pub const NON_REDUNDANT_TEXT: &str = "You have new non-redundant VPN connections";

/// The AWS Health notification sent when a tunnel of a connection has
/// been down more than an hour in a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NonRedundantNotification {
    /// [`SINGLE_TUNNEL_EVENT_TYPE`].
    #[serde(rename = "eventTypeCode")]
    pub event_type_code: &'static str,
    /// Always `VPN`.
    pub service: &'static str,
    /// Epoch seconds.
    #[serde(rename = "startTime")]
    pub start_time: u64,
    /// [`NON_REDUNDANT_TEXT`].
    pub description: &'static str,
    /// The VPN connection IDs concerned.
    #[serde(rename = "affectedEntities")]
    pub affected_entities: Vec<String>,
}

impl NonRedundantNotification {
    /// The notification for `vpn_ids` at `epoch_ms`.
    pub fn new(epoch_ms: u64, vpn_ids: Vec<String>) -> NonRedundantNotification {
        NonRedundantNotification {
            event_type_code: SINGLE_TUNNEL_EVENT_TYPE,
            service: "VPN",
            start_time: epoch_ms / 1000,
            description: NON_REDUNDANT_TEXT,
            affected_entities: vpn_ids,
        }
    }

    /// The notification as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}
