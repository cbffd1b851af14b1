//! Constructors from the engines' typed results: `ike::sa::Failure` and
//! `Event`, BGP NOTIFICATIONs, session events and the RIB's prefix limit.

use bgp::rib::{MaxPrefixExceeded, RibEvent};
use bgp::session::{SessionEvent, State};
use ike::sa::proposal::{choose_esp, choose_ike};
use ike::sa::{Event, Failure, Mismatch, PreferOwn};

use super::{Context, Diagnosis, Notification, Phase, Side, Symptom};

/// What AWS (with its choice policy) would refuse in the CGW's proposals,
/// if the context knows both.
fn aws_mismatch(phase: Phase, ctx: &Context) -> Option<Mismatch> {
    match phase {
        Phase::One if !ctx.cgw_ike.is_empty() => {
            let offered: Vec<_> = ctx
                .cgw_ike
                .iter()
                .enumerate()
                .map(|(i, p)| p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), Vec::new()))
                .collect();
            choose_ike(&PreferOwn, &offered, &ctx.aws_ike).err()
        }
        Phase::Two if !ctx.cgw_esp.is_empty() => {
            let offered: Vec<_> = ctx
                .cgw_esp
                .iter()
                .enumerate()
                .map(|(i, p)| p.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), 1, false))
                .collect();
            choose_esp(&PreferOwn, &offered, &ctx.aws_esp, false).err()
        }
        _ => None,
    }
}

impl Symptom {
    /// The symptom an IKE engine's failure shows, in `phase`, reported by
    /// `ctx.local`.
    pub fn from_ike_failure(f: &Failure, phase: Phase, ctx: &Context) -> Symptom {
        let local = ctx.local;
        match f {
            Failure::NoProposalChosen(m) => Symptom::NoProposalChosen {
                refused_by: local,
                phase,
                mismatch: Some(m.clone()),
                offered: None,
            },
            Failure::PeerNoProposalChosen { offered, .. } => Symptom::NoProposalChosen {
                refused_by: local.other(),
                phase,
                mismatch: if local == Side::Cgw {
                    aws_mismatch(phase, ctx)
                } else {
                    None
                },
                offered: Some(offered.clone()),
            },
            Failure::InvalidKeNotOffered { wanted_id, .. } => Symptom::InvalidKePayload {
                requested: *wanted_id,
                offered: ctx
                    .cgw_ike
                    .iter()
                    .flat_map(|p| p.dh.iter().map(|g| *g as u16))
                    .collect(),
                fatal: true,
            },
            Failure::InvalidKeAfterRetry { tried, .. } => Symptom::InvalidKePayload {
                requested: *tried as u16,
                offered: Vec::new(),
                fatal: true,
            },
            Failure::AuthenticationFailed(why) => Symptom::AuthenticationFailed {
                rejected_by: local,
                detail: Some((*why).to_string()),
            },
            Failure::PeerAuthenticationFailed { peer } => Symptom::AuthenticationFailed {
                rejected_by: local.other(),
                detail: Some(format!("AUTHENTICATION_FAILED from {peer}")),
            },
            Failure::TsUnacceptable {
                proposed,
                configured,
            } => Symptom::TsUnacceptable {
                refused_by: local,
                proposed: Some(proposed.clone()),
                configured: Some(configured.clone()),
            },
            Failure::PeerTsUnacceptable { .. } => Symptom::TsUnacceptable {
                refused_by: local.other(),
                proposed: None,
                configured: None,
            },
            Failure::NoResponse { peer, tries } => Symptom::NoResponse {
                peer: *peer,
                tries: *tries,
            },
            Failure::PeerError { notify, .. }
                if *notify == ike::wire::NotifyType::INVALID_MAJOR_VERSION =>
            {
                Symptom::IkeVersionMismatch {
                    received: Some(2),
                    accepted: vec![1],
                }
            }
            other if phase == Phase::Two => Symptom::ChildSaFailed {
                reason: other.to_string(),
            },
            other => Symptom::IkeError {
                reason: other.to_string(),
            },
        }
    }
}

impl Diagnosis {
    /// Explains a failure of phase 1 (the IKE SA: `Event::IkeSaFailed`),
    /// reported by `ctx.local`.
    pub fn from_ike_failure(f: &Failure, ctx: &Context) -> Diagnosis {
        Diagnosis::from_symptom(&Symptom::from_ike_failure(f, Phase::One, ctx), ctx)
    }

    /// Explains a failure of phase 2 (`Event::ChildSaFailed`: the IKE SA is
    /// up, the child SA is not).
    pub fn from_child_failure(f: &Failure, ctx: &Context) -> Diagnosis {
        Diagnosis::from_symptom(&Symptom::from_ike_failure(f, Phase::Two, ctx), ctx)
    }

    /// Explains a refused child SA pair beyond the first
    /// (`Event::AdditionalChildSaFailed`; `tsi`/`tsr` are its selectors).
    pub fn from_additional_child_failure(
        f: &Failure,
        tsi: &[ike::wire::TrafficSelector],
        tsr: &[ike::wire::TrafficSelector],
        ctx: &Context,
    ) -> Diagnosis {
        use crate::aws::log_emitter::ts_cidrs;
        let pair = format!("{} <-> {}", ts_cidrs(tsi), ts_cidrs(tsr));
        let (refused_by, notify) = match f {
            Failure::PeerTsUnacceptable { .. } => {
                (ctx.local.other(), Some("TS_UNACCEPTABLE".to_string()))
            }
            Failure::PeerError { notify, .. } => (ctx.local.other(), Some(notify.to_string())),
            Failure::ChildSaLimit { answered, .. } => (ctx.local, Some(answered.to_string())),
            Failure::TsUnacceptable { .. } => (ctx.local, Some("TS_UNACCEPTABLE".to_string())),
            // A bad answer or a proposal mismatch: not the one-pair rule.
            other => return Diagnosis::from_child_failure(other, ctx),
        };
        Diagnosis::from_symptom(
            &Symptom::AdditionalSaRefused {
                refused_by,
                pair,
                notify,
            },
            ctx,
        )
    }

    /// Explains an IKE event, if it is a failure (`IkeSaFailed`,
    /// `ChildSaFailed`, `DpdTimeout`); `None` for the others.
    pub fn from_ike_event(e: &Event, ctx: &Context) -> Option<Diagnosis> {
        match e {
            Event::IkeSaFailed(f) => Some(Diagnosis::from_ike_failure(f, ctx)),
            Event::ChildSaFailed(f) => Some(Diagnosis::from_child_failure(f, ctx)),
            Event::DpdTimeout {
                action,
                retransmits,
            } => Some(Diagnosis::from_symptom(
                &Symptom::DpdTimeout {
                    action: *action,
                    retransmits: *retransmits,
                    detected_by: ctx.local,
                },
                ctx,
            )),
            _ => None,
        }
    }

    /// The first failure among `events`, explained (e.g. the events of one
    /// side of `ike::sa::loopback::run`).
    pub fn first_ike_failure(events: &[Event], ctx: &Context) -> Option<Diagnosis> {
        events
            .iter()
            .find_map(|e| Diagnosis::from_ike_event(e, ctx))
    }

    /// Explains a BGP session closed by `n` (the session is then Idle).
    pub fn from_bgp_notification(n: &Notification) -> Diagnosis {
        Diagnosis::from_bgp_state(State::Idle, Some(n), None)
    }

    /// Explains a BGP session in `state` (not Established) with its last
    /// NOTIFICATION, if any, and who sent it.
    pub fn from_bgp_state(
        state: State,
        last: Option<&Notification>,
        sent_by: Option<Side>,
    ) -> Diagnosis {
        Diagnosis::from_symptom(
            &Symptom::BgpNotEstablished {
                state,
                notification: last.cloned(),
                sent_by,
            },
            &Context::new(sent_by.map_or(Side::Cgw, Side::other)),
        )
    }

    /// Explains a session event that closed the session (a NOTIFICATION
    /// sent or received) as seen by `local`; `None` for other events.
    pub fn from_bgp_session_event(e: &SessionEvent, local: Side) -> Option<Diagnosis> {
        match e {
            SessionEvent::NotificationSent(n) => {
                Some(Diagnosis::from_bgp_state(State::Idle, Some(n), Some(local)))
            }
            SessionEvent::NotificationReceived(n) => Some(Diagnosis::from_bgp_state(
                State::Idle,
                Some(n),
                Some(local.other()),
            )),
            _ => None,
        }
    }

    /// Explains the RIB's prefix limit (AWS closes the session with Cease
    /// 6/1).
    pub fn from_max_prefix(e: &MaxPrefixExceeded) -> Diagnosis {
        let mut d =
            Diagnosis::from_bgp_state(State::Idle, Some(&e.notification()), Some(Side::Aws));
        if let Some(c) = d.causes.first_mut() {
            c.evidence = Some(e.to_string());
        }
        d
    }
}

impl Diagnosis {
    /// Explains a RIB event that shows a problem (`Denied`,
    /// `PrefixLimitWarning`); `None` for best-path changes.
    pub fn from_rib_event(e: &RibEvent) -> Option<Diagnosis> {
        let s = match e {
            RibEvent::Denied { prefix, reason, .. } => Symptom::RouteDenied {
                prefix: prefix.to_string(),
                reason: *reason,
            },
            RibEvent::PrefixLimitWarning { count, limit, .. } => Symptom::PrefixLimitWarning {
                count: *count,
                limit: *limit,
            },
            _ => return None,
        };
        Some(Diagnosis::from_symptom(&s, &Context::aws()))
    }

    /// Explains `Event::PeerAddressChanged` (not a failure: the tunnel
    /// follows the new mapping), reported by `ctx.local`.
    pub fn from_peer_address_changed(e: &Event, ctx: &Context) -> Option<Diagnosis> {
        match e {
            Event::PeerAddressChanged { old, new } => Some(Diagnosis::from_symptom(
                &Symptom::PeerAddressChanged {
                    old: *old,
                    new: *new,
                },
                ctx,
            )),
            _ => None,
        }
    }
}
