//! The knowledge base: symptom -> ranked causes and fix, worded after AWS's
//! Site-to-Site VPN troubleshooting checklists (IKE, IPsec, tunnel
//! connectivity, BGP, routing) and AWS-VPN-FACTS.md sections 2 and 5.

use bgp::rib::DenyReason;
use bgp::wire::notification::codes;
use ike::sa::DpdAction;
use ike::wire::TransformType;

use super::format::{aws_mtu, aws_mtu_table, transform_list};
use super::{Cause, Context, Diagnosis, Mismatch, Phase, Side, Symptom};

impl Symptom {
    /// The stable short cause code scenario expectations assert on.
    pub fn code(&self) -> &'static str {
        match self {
            Symptom::NoResponse { .. } => "no-response",
            Symptom::NoProposalChosen { .. } => "no-proposal-chosen",
            Symptom::InvalidKePayload { .. } => "invalid-ke-payload",
            Symptom::AuthenticationFailed { .. } => "authentication-failed",
            Symptom::TsUnacceptable { .. } => "ts-unacceptable",
            Symptom::AdditionalSaRefused { notify, .. }
                if notify.as_deref() == Some("TS_UNACCEPTABLE") =>
            {
                "ts-unacceptable"
            }
            Symptom::AdditionalSaRefused { .. } => "child-sa-failed",
            Symptom::ChildSaFailed { .. } => "child-sa-failed",
            Symptom::DpdTimeout { .. } => "dpd-timeout",
            Symptom::IdleTimeout { .. } => "idle-timeout",
            Symptom::NoReturnTraffic {
                propagation: Some(false),
                ..
            } => "route-propagation-disabled",
            Symptom::NoReturnTraffic { .. } => "no-return-traffic",
            Symptom::BgpNotEstablished { notification, .. } => match notification
                .as_ref()
                .map(|n| (n.code, n.subcode))
            {
                Some((codes::OPEN, codes::BAD_PEER_AS)) => "bgp-asn-mismatch",
                Some((codes::OPEN, codes::UNACCEPTABLE_HOLD_TIME)) => "bgp-hold-time-unacceptable",
                Some((codes::HOLD_TIMER_EXPIRED, _)) => "bgp-hold-expired",
                Some((codes::CEASE, codes::MAX_PREFIXES)) => "bgp-max-prefix",
                Some((codes::CEASE, codes::ADMIN_SHUTDOWN)) => "bgp-admin-shutdown",
                Some((codes::OPEN, _)) => "bgp-open-error",
                Some(_) => "bgp-notification",
                None => "bgp-not-established",
            },
            Symptom::RoutesMissing {
                propagation: Some(true),
                ..
            } => "vpn-routes-missing",
            Symptom::RoutesMissing { .. } => "route-propagation-disabled",
            Symptom::LargePacketsLost { .. } => "mtu-blackhole",
            Symptom::SingleTunnel { .. } => "single-tunnel",
            Symptom::SourceIpMismatch { .. } => "source-ip-mismatch",
            Symptom::ResponderOnly => "cgw-responder-only",
            Symptom::IkeError { .. } => "ike-error",
            Symptom::IkeVersionMismatch { .. } => "ike-version-mismatch",
            Symptom::RouteDenied {
                reason: DenyReason::OwnAs,
                ..
            } => "bgp-own-as-rejected",
            Symptom::RouteDenied { .. } => "bgp-route-filtered",
            Symptom::PrefixLimitWarning { .. } => "bgp-prefix-limit-warning",
            Symptom::PeerAddressChanged { .. } => "nat-mapping-changed",
        }
    }
}

/// Ranks causes in the order given.
fn ranked(causes: Vec<(String, Option<String>)>) -> Vec<Cause> {
    causes
        .into_iter()
        .enumerate()
        .map(|(i, (text, evidence))| Cause {
            text,
            rank: u8::try_from(i + 1).unwrap_or(u8::MAX),
            evidence,
        })
        .collect()
}

fn c(text: impl Into<String>) -> (String, Option<String>) {
    (text.into(), None)
}

fn ce(text: impl Into<String>, evidence: impl Into<String>) -> (String, Option<String>) {
    (text.into(), Some(evidence.into()))
}

/// "DH groups", "encryption algorithms", ... for a transform type.
fn transform_words(t: TransformType) -> &'static str {
    match t {
        TransformType::ENCR => "encryption algorithms",
        TransformType::PRF => "PRF (integrity) algorithms",
        TransformType::INTEG => "integrity algorithms",
        TransformType::DH => "DH groups",
        TransformType::ESN => "ESN settings",
        _ => "transforms",
    }
}

/// The encryption algorithms AWS accepts over all its proposals, when the
/// mismatch's own list (from the closest proposal only) is part of them.
fn accepted_list(m: &Mismatch, refused_by: Side, phase: Phase, ctx: &Context) -> String {
    if refused_by == Side::Aws && m.transform == TransformType::ENCR {
        let all: Vec<String> = match phase {
            Phase::One => ctx
                .aws_ike
                .iter()
                .flat_map(|p| p.encr.iter().map(|e| e.name()))
                .collect(),
            Phase::Two => ctx
                .aws_esp
                .iter()
                .flat_map(|p| p.encr.iter().map(|e| e.name()))
                .collect(),
        };
        if !m.accepted.is_empty() && m.accepted.iter().all(|a| all.contains(a)) {
            return transform_list(&all);
        }
    }
    transform_list(&m.accepted)
}

/// "AWS accepts DH groups 2, 14-24 in phase 1; you offered 5" (or with the
/// roles swapped when the CGW refused AWS's offer).
fn mismatch_sentence(m: &Mismatch, accepted: &str, refused_by: Side, phase: Phase) -> String {
    let offered = transform_list(&m.offered);
    let what = transform_words(m.transform);
    match refused_by {
        Side::Aws => format!(
            "AWS accepts {what} {accepted} in phase {}; you offered {offered}",
            phase.number()
        ),
        Side::Cgw => format!(
            "the CGW accepts {what} {accepted} in phase {}; AWS offered {offered}",
            phase.number()
        ),
    }
}

pub(super) fn diagnose(s: &Symptom, ctx: &Context) -> Diagnosis {
    let code = s.code();
    let (symptom, causes, fix) = match s {
        Symptom::NoResponse { peer, tries } => no_response(*peer, *tries, ctx),
        Symptom::NoProposalChosen {
            refused_by,
            phase,
            mismatch,
            offered,
        } => no_proposal(
            *refused_by,
            *phase,
            mismatch.as_ref(),
            offered.as_deref(),
            ctx,
        ),
        Symptom::InvalidKePayload {
            requested,
            offered,
            fatal,
        } => invalid_ke(*requested, offered, *fatal),
        Symptom::AuthenticationFailed {
            rejected_by,
            detail,
        } => auth_failed(*rejected_by, detail.as_deref()),
        Symptom::TsUnacceptable {
            refused_by,
            proposed,
            configured,
        } => ts_unacceptable(*refused_by, proposed.as_deref(), configured.as_deref()),
        Symptom::AdditionalSaRefused {
            refused_by,
            pair,
            notify,
        } => additional_sa_refused(*refused_by, pair, notify.as_deref()),
        Symptom::ChildSaFailed { reason } => (
            format!("phase 1 (IKE SA) is up but the child SA failed: {reason}"),
            ranked(vec![
                ce(
                    "phase 2 settings do not match: encryption, integrity, PFS group or lifetime",
                    reason.clone(),
                ),
                c("the CGW builds more than one SA pair on the tunnel (AWS allows one SA pair per tunnel)"),
            ]),
            vec![
                "compare the CGW's phase 2 (IPsec) settings with the tunnel options AWS shows".into(),
                "use one SA pair per tunnel with 0.0.0.0/0 selectors (route-based)".into(),
            ],
        ),
        Symptom::DpdTimeout {
            action,
            retransmits,
            detected_by,
        } => dpd(*action, *retransmits, *detected_by),
        Symptom::IdleTimeout {
            idle,
            aws_initiates,
        } => idle_timeout(*idle, *aws_initiates),
        Symptom::NoReturnTraffic {
            esp_out,
            esp_in,
            pings_sent,
            ping_replies,
            propagation,
        } => no_return(*esp_out, *esp_in, *pings_sent, *ping_replies, *propagation),
        Symptom::BgpNotEstablished {
            state,
            notification,
            sent_by,
        } => bgp_down(*state, notification.as_ref(), *sent_by),
        Symptom::RoutesMissing {
            prefixes,
            propagation,
        } => routes_missing(prefixes, *propagation),
        Symptom::LargePacketsLost {
            size,
            df,
            suite,
            nat_t,
        } => mtu(*size, *df, *suite, *nat_t),
        Symptom::SingleTunnel { up, down } => (
            format!("only tunnel {up} is up; tunnel {down} is down (VPN connection is non-redundant)"),
            ranked_texts(&[
                "the CGW never initiates the second tunnel: AWS does not start tunnels (startup action add), the device must",
                "the second tunnel is not configured on the CGW, or tunnel 1 and tunnel 2 are mixed up from the configuration file order",
                "the second tunnel's path is blocked (UDP 500/4500, ESP) or its phase 1/2 settings differ",
            ]),
            vec![
                format!("configure and initiate tunnel {down} on the CGW with its own outside IP and pre-shared key"),
                "AWS sends a \"VPN single tunnel\" health notification (\"You have new non-redundant VPN connections\") when a tunnel is down more than an hour a day".into(),
            ],
        ),
        Symptom::SourceIpMismatch { configured, seen } => {
            let ev = match seen {
                Some(a) => format!("packets arrive from {a}, the customer gateway is configured as {configured}"),
                None => format!("AWS saw nothing from the configured customer gateway IP {configured}"),
            };
            (
                format!("AWS saw no IKE traffic from the configured customer gateway IP {configured}"),
                ranked(vec![
                    ce("the CGW's traffic leaves with a source IP other than the customer gateway IP (AWS drops it silently: no reply, no error)", ev),
                    c("source NAT in front of the CGW uses another public address"),
                    c("the customer gateway was created with the wrong IP address"),
                ]),
                vec![
                    "make the CGW send IKE from the customer gateway IP, or behind NAT set the customer gateway IP to the NAT's public address".into(),
                    "do not source-NAT the tunnel traffic with another address".into(),
                ],
            )
        }
        Symptom::ResponderOnly => (
            "no tunnel ever comes up: neither side initiates IKE".into(),
            ranked(vec![
                c("the CGW is configured responder-only, and AWS does not initiate IKE (startup action add): AWS waits for the CGW"),
                c("the CGW only initiates on interesting traffic, and none is sent"),
            ]),
            vec![
                "configure the CGW to initiate the tunnels (auto=start / start_action=start)".into(),
                "or set the tunnel's startup action to start so that AWS initiates (IKEv2 only)".into(),
            ],
        ),
        Symptom::RouteDenied { prefix, reason } => (
            format!("route {prefix} from the CGW was DENIED due to: {reason}"),
            ranked(match reason {
                DenyReason::OwnAs => vec![
                    ce("the route's AS_PATH holds AWS's own ASN: AWS rejects it (loop prevention)", reason.as_str()),
                    c("the CGW re-advertises routes learned from the other tunnel or another VPN back to AWS"),
                ],
                DenyReason::ImportFilter => vec![
                    ce("the prefix is filtered by AWS's import policy", reason.as_str()),
                    c("the route has a next hop that is not the CGW's inside address"),
                ],
            }),
            vec![
                "advertise only on-prem prefixes to AWS; filter routes whose AS_PATH holds AWS's ASN (64512 by default)".into(),
                "do not re-advertise routes learned from AWS".into(),
            ],
        ),
        Symptom::PrefixLimitWarning { count, limit } => (
            format!("the CGW advertises {count} prefixes; the limit is {limit}"),
            ranked(vec![c(format!(
                "close to the prefix limit: past {limit} AWS sends Cease / Maximum Number of Prefixes Reached and the session flaps"
            ))]),
            vec![format!(
                "summarize the advertised routes well below {limit} (100 to a virtual private gateway, 1000 to a transit gateway)"
            )],
        ),
        Symptom::PeerAddressChanged { old, new } => (
            format!("the peer's address changed from {old} to {new} (its NAT mapping changed)"),
            ranked(vec![
                c("the CGW is behind a NAT whose mapping timed out or was rebound; NAT-T keepalives are missing or too rare"),
                c("if the NAT's public IP changed, it no longer matches the customer gateway IP and AWS drops the traffic"),
            ]),
            vec![
                "send NAT-T keepalives (every 20 s) or constant traffic so the NAT mapping stays".into(),
                "the customer gateway IP must be the NAT's public address; use a static public IP for the NAT".into(),
            ],
        ),
        Symptom::IkeVersionMismatch { received, accepted } => {
            let acc = accepted
                .iter()
                .map(|v| format!("IKEv{v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let got = received.map_or("another IKE version".to_string(), |v| format!("IKEv{v}"));
            (
                format!("the tunnel received {got} messages; it accepts {acc}"),
                ranked(vec![
                    ce(
                        format!("IKE version mismatch: the CGW speaks {got} to a tunnel set to {acc}"),
                        format!("received {got}"),
                    ),
                    c("the CGW uses IKEv1 aggressive mode (AWS supports main mode only)"),
                ]),
                vec![
                    format!("configure the CGW for {acc} (keyexchange=ikev2), or allow {got} in the tunnel options"),
                    "AWS supports IKEv1 main mode only, never aggressive mode".into(),
                ],
            )
        }
        Symptom::IkeError { reason } => (
            format!("IKE failed: {reason}"),
            ranked(vec![
                ce("the CGW and AWS disagree on the IKE exchange (IKE version, or a setting the peer refuses)", reason.clone()),
                c("IKE_AUTH never arrived: UDP 4500 blocked after NAT-T, or fragments lost"),
            ]),
            vec![
                "use IKEv2 (or the IKE version set on the tunnel) and compare the CGW's settings with the tunnel options".into(),
                "allow UDP 500, UDP 4500 and ESP between the CGW and both AWS outside IPs".into(),
            ],
        ),
    };
    Diagnosis {
        code,
        symptom,
        causes,
        fix,
    }
}

fn ranked_texts(texts: &[&str]) -> Vec<Cause> {
    ranked(texts.iter().map(|t| c(*t)).collect())
}

type Parts = (String, Vec<Cause>, Vec<String>);

fn no_response(peer: std::net::SocketAddr, tries: u32, ctx: &Context) -> Parts {
    let stage = if peer.port() == 4500 {
        "IKE_AUTH (UDP 4500)"
    } else {
        "IKE_SA_INIT"
    };
    let symptom = format!("no answer to {stage} from {peer} after {tries} tries");
    let mut first: Vec<(String, Option<String>)> = Vec::new();
    let mut rest: Vec<(String, Option<String>)> = Vec::new();
    // The strongest evidence ranks first.
    match (ctx.cgw_address, ctx.cgw_source) {
        (Some(conf), Some(src)) if conf != src => first.push(ce(
            "source IP mismatch: the CGW sends from an address other than the customer gateway IP, and AWS drops such traffic silently",
            format!("the CGW sends from {src}; the customer gateway IP is {conf}"),
        )),
        _ => rest.push(c(
            "source IP mismatch: the CGW sends from an address other than the customer gateway IP (AWS drops it silently)",
        )),
    }
    match ctx.aws_address {
        Some(a) if a != peer.ip() && ctx.local == Side::Cgw => first.push(ce(
            "wrong peer address: the CGW sends to an address that is not the tunnel's outside IP",
            format!("requests go to {}; the tunnel's outside IP is {a}", peer.ip()),
        )),
        _ => rest.push(c(
            "wrong peer address: the CGW's peer is not the tunnel's outside IP (tunnel 1 and 2 mixed up?)",
        )),
    }
    let blocked = if peer.port() == 4500 {
        ce(
            "UDP 4500 is blocked by a firewall between the CGW and AWS (NAT-T moves IKE to 4500 after IKE_SA_INIT)",
            format!("IKE_SA_INIT was answered; requests to port {} were not", peer.port()),
        )
    } else {
        c("UDP 500 (and 4500 with NAT-T) is blocked by a firewall or ACL between the CGW and AWS")
    };
    let mut causes = first;
    causes.push(blocked);
    causes.extend(rest);
    if ctx.local == Side::Aws {
        causes.push(c(
            "the CGW is not initiating or not listening: AWS initiates only with startup action start",
        ));
    } else {
        causes.push(c(
            "the CGW is not initiating to this tunnel, or the tunnel is not configured at AWS",
        ));
    }
    (
        symptom,
        ranked(causes),
        vec![
            "allow UDP 500, UDP 4500 and IP protocol 50 (ESP) between the CGW and both AWS outside IPs, in both directions".into(),
            "check that the CGW's peer addresses are the tunnels' outside IPs from the configuration file".into(),
            "check that the CGW's public (post-NAT) source IP is the customer gateway IP configured at AWS".into(),
        ],
    )
}

fn no_proposal(
    refused_by: Side,
    phase: Phase,
    mismatch: Option<&Mismatch>,
    offered: Option<&str>,
    ctx: &Context,
) -> Parts {
    let n = phase.number();
    let symptom = format!(
        "NO_PROPOSAL_CHOSEN in phase {n}: {} found nothing it accepts in {}'s proposal",
        refused_by.name(),
        refused_by.other().name()
    );
    let mut causes = Vec::new();
    if let Some(m) = mismatch {
        causes.push(ce(
            mismatch_sentence(
                m,
                &accepted_list(m, refused_by, phase, ctx),
                refused_by,
                phase,
            ),
            m.to_string(),
        ));
    } else {
        causes.push(match offered {
            Some(o) => ce(
                format!("the phase {n} proposal holds no combination AWS accepts (encryption, integrity, DH group)"),
                format!("offered {o}"),
            ),
            None => c(format!("the phase {n} proposal holds no combination AWS accepts (encryption, integrity, DH group)")),
        });
    }
    causes.push(c(
        "AWS accepts AES128, AES256, AES128-GCM-16, AES256-GCM-16; SHA1, SHA2-256, SHA2-384, SHA2-512; DH groups 2, 14-24 in phase 1 and 2, 5, 14-24 in phase 2 (unless the tunnel options narrow them)",
    ));
    causes.push(c(
        "the tunnel's options at AWS were narrowed and no longer include what the CGW offers",
    ));
    let mut fix = Vec::new();
    if let Some(m) = mismatch {
        if refused_by == Side::Aws {
            fix.push(format!(
                "offer {} the tunnel accepts in phase {n}: {}",
                transform_words(m.transform),
                accepted_list(m, refused_by, phase, ctx)
            ));
        } else {
            fix.push(format!(
                "add one of AWS's {} to the CGW's phase {n} proposal: {}",
                transform_words(m.transform),
                transform_list(&m.offered)
            ));
        }
    }
    fix.push(format!(
        "align the CGW's phase {n} encryption, integrity and DH group with the tunnel options shown for the VPN connection"
    ));
    (symptom, ranked(causes), fix)
}

fn invalid_ke(requested: u16, offered: &[u16], fatal: bool) -> Parts {
    let offered_txt = transform_list(&offered.iter().map(u16::to_string).collect::<Vec<_>>());
    let symptom = if fatal {
        format!("INVALID_KE_PAYLOAD: AWS asked for DH group {requested}, and the CGW cannot retry with it")
    } else {
        format!("INVALID_KE_PAYLOAD: AWS asked for DH group {requested} (the CGW retried with it)")
    };
    let mut causes = vec![ce(
        format!("the CGW sent its key exchange for a group AWS does not pick; AWS wants DH group {requested}"),
        if offered.is_empty() {
            format!("requested group {requested}")
        } else {
            format!("offered {offered_txt}, requested {requested}")
        },
    )];
    if fatal {
        causes.push(c(format!(
            "DH group {requested} is not in the CGW's phase 1 proposal"
        )));
    }
    (
        symptom,
        ranked(causes),
        vec![
            format!("offer DH group {requested} first in the CGW's phase 1 proposal, so its first key exchange is the one AWS picks"),
            "AWS picks the lowest group it accepts among those offered".into(),
        ],
    )
}

fn auth_failed(rejected_by: Side, detail: Option<&str>) -> Parts {
    let symptom = format!(
        "AUTHENTICATION_FAILED: {} rejected {}'s authentication in IKE_AUTH",
        rejected_by.name(),
        rejected_by.other().name()
    );
    let ev = detail.map(str::to_string);
    let causes = ranked(vec![
        (
            "pre-shared key mismatch: the CGW's key differs from the tunnel's pre-shared key".to_string(),
            ev,
        ),
        c("the CGW uses the other tunnel's pre-shared key (tunnel 1 and tunnel 2 mixed up)"),
        c("identity mismatch: the CGW's IKE ID is not its customer gateway IP (or certificate name)"),
    ]);
    (
        symptom,
        causes,
        vec![
            "copy each tunnel's pre-shared key from the configuration file into the matching tunnel on the CGW".into(),
            "AWS's pre-shared keys are 8-64 characters of A-Z, a-z, 0-9, '.' and '_', and cannot start with 0".into(),
            "use the CGW's public IP as its IKE identity".into(),
        ],
    )
}

fn ts_unacceptable(refused_by: Side, proposed: Option<&str>, configured: Option<&str>) -> Parts {
    let symptom = format!(
        "TS_UNACCEPTABLE: {} refused the traffic selectors{}",
        refused_by.name(),
        proposed.map(|p| format!(" {p}")).unwrap_or_default()
    );
    let ev = match (proposed, configured) {
        (Some(p), Some(c)) => Some(format!("proposed {p}; allowed {c}")),
        (Some(p), None) => Some(format!("proposed {p}")),
        _ => None,
    };
    (
        symptom,
        ranked(vec![
            (
                "policy-based selectors: the CGW proposes subnet pairs outside the connection's local/remote IPv4 network CIDRs".to_string(),
                ev,
            ),
            c("the CGW builds one SA per subnet pair; AWS allows one SA pair per tunnel and refuses or deletes the extra SAs"),
        ]),
        vec![
            "use a route-based tunnel with 0.0.0.0/0 <-> 0.0.0.0/0 selectors (AWS's default)".into(),
            "or set the VPN connection's local and remote IPv4 network CIDRs to the one pair the CGW proposes".into(),
            "keep one SA pair per tunnel: merge subnets into one selector pair".into(),
        ],
    )
}

fn additional_sa_refused(refused_by: Side, pair: &str, notify: Option<&str>) -> Parts {
    let symptom = format!(
        "{}: {} refused a second SA pair ({pair}) on a tunnel that already has one",
        notify.unwrap_or("refused"),
        refused_by.name(),
    );
    (
        symptom,
        ranked(vec![
            (
                "the CGW is policy-based and builds one SA pair per subnet pair; AWS allows one SA pair per tunnel".to_string(),
                Some(format!("refused pair {pair}")),
            ),
            c("traffic of the refused pair's subnets has no SA and is dropped at the CGW"),
        ]),
        vec![
            "configure the device route-based: one SA pair with 0.0.0.0/0 <-> 0.0.0.0/0 selectors, and routes into the tunnel".into(),
            "or set the VPN connection's local/remote IPv4 network CIDRs and configure the device with that one pair (a supernet of its subnets)".into(),
        ],
    )
}

fn dpd(action: DpdAction, retransmits: u32, by: Side) -> Parts {
    let what = match action {
        DpdAction::Clear => "the tunnel was cleared",
        DpdAction::Restart => "the tunnel was restarted",
        DpdAction::None => "the tunnel was kept",
    };
    (
        format!(
            "DPD timed out after {retransmits} retransmits at {}; {what}",
            by.name()
        ),
        ranked(vec![
            c("the idle tunnel was dropped: AWS probes after about 10 s of silence and clears the tunnel when the CGW does not answer DPD"),
            c("the CGW does not answer DPD (DPD disabled on the device)"),
            c("the path between the CGW and AWS lost packets (UDP 500/4500 blocked or the link went down)"),
        ]),
        vec![
            "send constant interesting traffic from the CGW side (SLA monitor style probes, e.g. a ping every few seconds to a VPC host)".into(),
            "enable DPD on the CGW and answer AWS's probes".into(),
            "set the tunnel's DPD timeout action to restart, or the CGW to restart the tunnel, so it comes back".into(),
        ],
    )
}

/// An idle tunnel torn down by the CGW, in the words of AWS's article on
/// tunnel inactivity ("a vendor-specific VPN idle time ... constant
/// bidirectional traffic ... one ICMP request every 5 seconds").
fn idle_timeout(idle: std::time::Duration, aws_initiates: bool) -> Parts {
    let after = if aws_initiates {
        "AWS initiates it again (startup action start)"
    } else {
        "it stays down until traffic from the CGW side brings it up again (AWS does not initiate with startup action add), and the first packets are lost"
    };
    (
        format!(
            "idle tunnel: the CGW deleted the IKE SA after {} without traffic through the tunnel; {after}",
            crate::scenario::format_duration(idle)
        ),
        ranked(vec![
            c("lack of interesting traffic: there is a vendor-specific VPN idle time; if no traffic goes through the VPN tunnel for that duration, the IPsec session is torn down"),
            c("the only traffic is in one direction, or rides the other tunnel (a standby tunnel carries none)"),
        ]),
        vec![
            "be sure there is constant bidirectional traffic between your local network and the VPC: e.g. a host (or the CGW's SLA monitor) sending one ICMP request every 5 seconds to an instance in the VPC that answers ICMP, through each tunnel".into(),
            "or raise or disable the CGW's VPN idle timeout".into(),
            "set the tunnel's startup action to start (AWS initiates IKE) and its DPD timeout action to restart, so AWS brings the tunnel back instead of waiting for the CGW".into(),
        ],
    )
}

fn no_return(
    esp_out: u64,
    esp_in: u64,
    pings_sent: u32,
    replies: u32,
    propagation: Option<bool>,
) -> Parts {
    let symptom = format!(
        "the tunnel is up but no traffic returns: ESP out {esp_out}, in {esp_in}; {replies} of {pings_sent} pings answered"
    );
    let mut causes = Vec::new();
    match propagation {
        Some(false) => causes.push(ce(
            "route propagation is not enabled on the VPC route table: the VPC has no route back to on-prem, so replies are lost",
            "route propagation is off for the subnet's route table",
        )),
        _ => causes.push(c(
            "route propagation not enabled, or no route to the on-prem prefixes in the VPC subnet's route table",
        )),
    }
    causes.push(c(
        "security groups or network ACLs in the VPC do not allow the traffic from on-prem",
    ));
    causes.push(c(
        "asymmetric return path: replies leave through the other tunnel or the internet, or rp_filter drops them on the CGW",
    ));
    causes.push(c("the CGW does not route the VPC's prefixes into the tunnel (or has no static/BGP route for them)"));
    (
        symptom,
        ranked(causes),
        vec![
            "enable route propagation for the virtual private gateway on the VPC route table (or add static routes to the on-prem prefixes)".into(),
            "allow the on-prem prefixes in the security groups and network ACLs".into(),
            "make both tunnels' return traffic symmetric; relax rp_filter on the CGW".into(),
        ],
    )
}

fn bgp_down(
    state: bgp::session::State,
    n: Option<&super::Notification>,
    sent_by: Option<Side>,
) -> Parts {
    let who = sent_by
        .map(|s| format!(" from {}", s.name()))
        .unwrap_or_default();
    let symptom = match n {
        Some(n) => format!(
            "BGP session is {state}; last NOTIFICATION{who}: {} ({}/{})",
            n.describe(),
            n.code,
            n.subcode
        ),
        None => format!("BGP session is {state} (not Established)"),
    };
    let (causes, fix): (Vec<(String, Option<String>)>, Vec<String>) =
        match n.map(|n| (n.code, n.subcode)) {
            Some((codes::OPEN, codes::BAD_PEER_AS)) => (
                vec![
                    ce(
                        "BGP ASN mismatch: the CGW's ASN differs from the customer gateway's BGP ASN, or the CGW expects another AWS-side ASN",
                        n.map(|n| n.describe()).unwrap_or_default(),
                    ),
                    c("the AWS-side ASN is custom (64512-65534 or 4200000000-4294967294), not the default 64512"),
                ],
                vec![
                    "set the CGW's local ASN to the customer gateway's BGP ASN, and its neighbor's remote ASN to the virtual private gateway's ASN (64512 by default)".into(),
                ],
            ),
            Some((codes::HOLD_TIMER_EXPIRED, _)) => (
                vec![
                    c("hold timer expired: no KEEPALIVE for 30 s; the tunnel underneath lost traffic or went down"),
                    c("the CGW's keepalive interval is longer than AWS's hold time allows (AWS: hold 30 s, keepalive 10 s)"),
                    c("BGP packets are lost: MTU, firewall on TCP 179 inside the tunnel, or asymmetric routing between tunnels"),
                ],
                vec![
                    "keep the tunnel up (DPD, constant traffic) and check it carries TCP 179".into(),
                    "use hold time 30 s and keepalive 10 s on the CGW".into(),
                ],
            ),
            Some((codes::CEASE, codes::MAX_PREFIXES)) => {
                let limit = n
                    .and_then(|n| n.max_prefixes_data())
                    .map(|(_, _, l)| l);
                let lim = limit.map_or("the limit".to_string(), |l| l.to_string());
                (
                    vec![ce(
                        format!("the CGW advertised more than {lim} prefixes: AWS closes the session (Cease / Maximum Number of Prefixes Reached) and it flaps"),
                        n.map(|n| n.describe()).unwrap_or_default(),
                    )],
                    vec![
                        format!("advertise at most {lim} prefixes: summarize routes or filter the export to the VPN"),
                        "the limit is 100 routes to a virtual private gateway, 1000 to a transit gateway".into(),
                    ],
                )
            }
            Some((codes::CEASE, codes::ADMIN_SHUTDOWN)) => (
                vec![ce(
                    "the peer shut the session down administratively (Cease / Administrative Shutdown)",
                    n.map(|n| n.describe()).unwrap_or_default(),
                )],
                vec!["re-enable the BGP neighbor on the side that shut it down".into()],
            ),
            Some((codes::OPEN, codes::UNACCEPTABLE_HOLD_TIME)) => (
                vec![c("the hold time offered is unacceptable (1 or 2 s); AWS uses 30 s")],
                vec!["use hold time 30 s and keepalive 10 s on the CGW".into()],
            ),
            Some(_) => (
                vec![ce(
                    "the session was closed by an error",
                    n.map(|n| n.describe()).unwrap_or_default(),
                )],
                vec!["fix the error named by the NOTIFICATION and let the session restart".into()],
            ),
            None => (
                vec![
                    c("the tunnel underneath is down: BGP runs over the tunnel's inside addresses"),
                    c("wrong BGP neighbor: the CGW must peer with the first host of the tunnel's inside /30 (169.254.x.x), from the second"),
                    c("BGP ASN mismatch, hold time, or prefix limit (over 100 prefixes)"),
                    c("TCP 179 is blocked inside the tunnel"),
                ],
                vec![
                    "bring the tunnel up first, then check the neighbor address, ASN, hold time (30 s) and prefix count (at most 100)".into(),
                ],
            ),
        };
    (symptom, ranked(causes), fix)
}

fn routes_missing(prefixes: &[String], propagation: Option<bool>) -> Parts {
    let list = if prefixes.is_empty() {
        "the VPN's routes".to_string()
    } else {
        prefixes.join(", ")
    };
    let symptom = format!("the VPC route table lacks {list}");
    let mut causes = Vec::new();
    match propagation {
        Some(true) => {}
        Some(false) => causes.push(ce(
            "route propagation is not enabled for the virtual private gateway on this route table",
            "propagation is off",
        )),
        None => causes.push(c(
            "route propagation is not enabled for the virtual private gateway on this route table",
        )),
    }
    causes.push(c(
        "the VPN connection is down: propagated routes appear only while it is UP",
    ));
    causes.push(c(
        "the CGW does not advertise the prefixes over BGP (or static routes are missing on the VPN connection)",
    ));
    causes.push(c(
        "AWS rejected the routes: AS_PATH holds AWS's own AS, a non-connected next hop, or more than 100 prefixes",
    ));
    (
        symptom,
        ranked(causes),
        vec![
            "enable route propagation on the VPC route table (Route Propagation tab: the virtual private gateway, Yes)".into(),
            "advertise the on-prem prefixes over BGP, or add them as static routes on the VPN connection".into(),
        ],
    )
}

fn mtu(
    size: u16,
    df: bool,
    suite: Option<(ike::crypto::EncrAlg, Option<ike::crypto::IntegAlg>)>,
    nat_t: bool,
) -> Parts {
    let limit = suite.map(|(e, i)| aws_mtu(e, i, nat_t));
    let symptom = format!(
        "packets of {size} bytes{} are lost while small ones pass",
        if df { " with DF set" } else { "" }
    );
    let mut causes = Vec::new();
    match limit {
        Some((mtu, mss)) => causes.push(ce(
            format!("MTU black hole: the tunnel carries at most {mtu} bytes (MSS {mss}); larger packets with DF set cannot be fragmented and AWS does no path MTU discovery"),
            format!("{size} > {mtu}"),
        )),
        None => causes.push(c(
            "MTU black hole: the tunnel carries at most 1446 bytes (MSS 1406, AES-GCM) or less; larger packets with DF set are dropped and AWS does no path MTU discovery",
        )),
    }
    causes.push(c(
        "ICMP \"fragmentation needed\" is filtered on the way back, so senders never lower their packet size",
    ));
    causes.push(c("TCP MSS is not clamped on the CGW's tunnel interface"));
    let mut fix = vec![
        "clear DF and fragment before encryption on the CGW".into(),
        match limit {
            Some((mtu, mss)) => {
                format!("set the tunnel interface MTU to {mtu} and clamp TCP MSS to {mss}")
            }
            None => "set the tunnel interface MTU and clamp TCP MSS per AWS's table".into(),
        },
    ];
    fix.extend(aws_mtu_table());
    (symptom, ranked(causes), fix)
}
