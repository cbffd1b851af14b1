//! CREATE_CHILD_SA creating a child SA pair beyond the first (RFC 7296
//! 1.3.1): what a policy-based device does for each further pair of
//! subnets, after the first pair came with IKE_AUTH.
//!
//! As responder the IKE SA holds at most [`super::IkeConfig::max_child_sas`]
//! pairs and refuses more with [`super::IkeConfig::extra_child_refusal`];
//! within the limit a request is narrowed and accepted like IKE_AUTH's.
//! Either side reports a refused pair as
//! [`Event::AdditionalChildSaFailed`], which leaves the IKE SA and its other
//! pairs alone (unlike [`Event::ChildSaFailed`], which means the tunnel
//! carries nothing).

use std::time::Instant;

use super::event::{Event, Failure};
use super::exchange_auth::{summarize_esp, ts_text};
use super::exchange_init::notify;
use super::ike_sa::{IkeSa, Purpose, State};
use super::lookup::Lookup;
use super::selectors;
use crate::crypto::{DhGroup, KeyPair};
use crate::wire::{ExchangeType, KeyExchange, NotifyType, Payload, SaPayload, TrafficSelector};

/// Our outstanding request for an additional child SA pair.
#[derive(Debug)]
pub(crate) struct CreateChildRequest {
    new_spi_in: u32,
    ni: Vec<u8>,
    dh: Option<KeyPair>,
    local_ts: Vec<TrafficSelector>,
    remote_ts: Vec<TrafficSelector>,
    ke_retried: bool,
}

impl IkeSa {
    /// Requests one more child SA pair with these selectors (ours as TSi,
    /// the peer's as TSr), next to the existing ones. The outcome is an
    /// [`Event::ChildSaInstalled`] (with `replaces: None`) or an
    /// [`Event::AdditionalChildSaFailed`]. Returns whether the request was
    /// sent: not before the IKE SA is established, after it was rekeyed
    /// away, with empty selectors, or while another request is
    /// outstanding (one exchange at a time: try again later).
    pub fn create_child_sa(
        &mut self,
        now: Instant,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
    ) -> bool {
        let ok = self.state == State::Established
            && !self.superseded
            && self.pending.is_none()
            && !local_ts.is_empty()
            && !remote_ts.is_empty();
        if ok {
            let pfs = self
                .config
                .esp_proposals
                .iter()
                .find_map(|p| p.dh.first().copied());
            self.send_additional_child(now, local_ts, remote_ts, pfs, false);
        }
        ok
    }

    fn send_additional_child(
        &mut self,
        now: Instant,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
        pfs: Option<DhGroup>,
        ke_retried: bool,
    ) {
        let (new_spi_in, ni, dh, payloads) = self.child_request(pfs, &local_ts, &remote_ts);
        self.send_request(now, ExchangeType::CREATE_CHILD_SA, payloads);
        let req = CreateChildRequest {
            new_spi_in,
            ni,
            dh,
            local_ts,
            remote_ts,
            ke_retried,
        };
        if let Some(p) = self.pending.as_mut() {
            p.purpose = Purpose::CreateChild(req);
        }
    }

    /// The peer's answer to our [`IkeSa::create_child_sa`].
    pub(super) fn finish_additional_child(
        &mut self,
        now: Instant,
        inner: &[Payload],
        req: CreateChildRequest,
    ) {
        let peer = self.remote;
        if let Some(n) = inner.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = n.invalid_ke_group().and_then(|g| DhGroup::from_id(g.0));
            let offered =
                wanted.filter(|g| self.config.esp_proposals.iter().any(|p| p.dh.contains(g)));
            if let (Some(g), false) = (offered, req.ke_retried) {
                return self.send_additional_child(now, req.local_ts, req.remote_ts, Some(g), true);
            }
        }
        let fail = |sa: &mut IkeSa, failure: Failure, req: CreateChildRequest| {
            sa.events.push_back(Event::AdditionalChildSaFailed {
                failure,
                tsi: req.local_ts,
                tsr: req.remote_ts,
            });
        };
        if let Some(n) = inner.error_notify() {
            let failure = match n.kind {
                NotifyType::TS_UNACCEPTABLE => Failure::PeerTsUnacceptable { peer },
                NotifyType::NO_PROPOSAL_CHOSEN => Failure::PeerNoProposalChosen {
                    peer,
                    offered: summarize_esp(&self.config.esp_proposals),
                },
                kind => Failure::PeerError { peer, notify: kind },
            };
            return fail(self, failure, req);
        }
        let (spi_out, suite, nr, shared) = match self.child_answer_keys(inner, req.dh.as_ref()) {
            Ok(k) => k,
            Err(f) => return fail(self, f, req),
        };
        // The answer may narrow our selectors, never widen them.
        let tsi = inner.tsi().map(<[TrafficSelector]>::to_vec);
        let tsr = inner.tsr().map(<[TrafficSelector]>::to_vec);
        let (Some(tsi), Some(tsr)) = (
            tsi.filter(|t| selectors::within(t, &req.local_ts)),
            tsr.filter(|t| selectors::within(t, &req.remote_ts)),
        ) else {
            // The peer installed a pair we cannot use: delete it there.
            self.queue_child_delete(vec![req.new_spi_in]);
            let f = Failure::Protocol(
                "CREATE_CHILD_SA answer with selectors we did not ask for".into(),
            );
            return fail(self, f, req);
        };
        let info = self.make_child_info(
            true,
            &req.ni,
            &nr,
            shared.as_ref(),
            suite,
            req.new_spi_in,
            spi_out,
            tsi,
            tsr,
            None,
        );
        self.push_child_installed(now, info);
    }

    /// A peer's CREATE_CHILD_SA request without REKEY_SA: one more pair,
    /// accepted within [`super::IkeConfig::max_child_sas`].
    pub(super) fn respond_additional_child(
        &mut self,
        now: Instant,
        id: u32,
        inner: &[Payload],
        sa: &SaPayload,
        ni: Vec<u8>,
        ke: Option<&KeyExchange>,
    ) {
        let tsi = inner
            .tsi()
            .map(<[TrafficSelector]>::to_vec)
            .unwrap_or_default();
        let tsr = inner
            .tsr()
            .map(<[TrafficSelector]>::to_vec)
            .unwrap_or_default();
        // A rekeyed pair waiting for its delete is not one more pair.
        let live = self.children.iter().filter(|c| !c.replaced).count();
        let limit = self.config.max_child_sas;
        if live >= limit {
            let answered = self.config.extra_child_refusal;
            self.answer(id, vec![notify(answered, Vec::new())]);
            let failure = Failure::ChildSaLimit { limit, answered };
            self.events
                .push_back(Event::AdditionalChildSaFailed { failure, tsi, tsr });
            return;
        }
        let Some((choice, ke_out, shared)) = self.choose_child(id, sa, ke) else {
            return;
        };
        let narrowed_i = selectors::narrow(&tsi, &self.config.remote_ts);
        let narrowed_r = selectors::narrow(&tsr, &self.config.local_ts);
        if narrowed_i.is_empty() || narrowed_r.is_empty() {
            self.answer(id, vec![notify(NotifyType::TS_UNACCEPTABLE, Vec::new())]);
            let mut proposed = tsi.clone();
            proposed.extend(tsr.iter().cloned());
            let mut configured = self.config.remote_ts.clone();
            configured.extend(self.config.local_ts.iter().cloned());
            let failure = Failure::TsUnacceptable {
                proposed: ts_text(&proposed),
                configured: ts_text(&configured),
            };
            self.events
                .push_back(Event::AdditionalChildSaFailed { failure, tsi, tsr });
            return;
        }
        let (nr, new_spi_in) =
            self.answer_child(id, &choice, ke_out.as_ref(), &narrowed_i, &narrowed_r);
        let info = self.make_child_info(
            false,
            &ni,
            &nr,
            shared.as_ref(),
            choice.suite,
            new_spi_in,
            choice.peer_spi,
            narrowed_r,
            narrowed_i,
            None,
        );
        self.push_child_installed(now, info);
    }
}
