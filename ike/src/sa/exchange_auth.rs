//! IKE_AUTH (RFC 7296 1.2, 2.15): PSK authentication and the first child
//! SA with its traffic selectors, both roles.

use std::net::SocketAddr;
use std::time::Instant;

use subtle::ConstantTimeEq;

use super::event::{ChildSaInfo, Event, Failure, IkeSaInfo, Role};
use super::exchange_init::notify;
use super::ike_sa::{IkeSa, State};
use super::lookup::Lookup;
use super::proposal::{
    choose_esp, esp_suite_from_answer, esp_suite_to_wire, EspProposal, EspSuite,
};
use super::selectors;
use super::timer::Timer;
use crate::crypto::{keys, Secret};
use crate::wire::{
    AuthMethod, Authentication, ExchangeType, Identification, Message, NotifyType, Payload,
    SaPayload, TrafficSelector, TrafficSelectors,
};

/// The body of an ID payload as it is signed: type, three reserved bytes,
/// data (RFC 7296 2.15, "IDx'").
fn id_body(id: &Identification) -> Vec<u8> {
    let mut b = vec![id.id_type.0, 0, 0, 0];
    b.extend_from_slice(&id.data);
    b
}

pub(super) fn ts_text(ts: &[TrafficSelector]) -> String {
    ts.iter()
        .map(|t| {
            format!(
                "{}-{}/{}:{}-{}",
                t.start_addr, t.end_addr, t.ip_protocol, t.start_port, t.end_port
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn summarize_esp(ps: &[EspProposal]) -> String {
    ps.iter()
        .map(|p| {
            let mut parts: Vec<String> = p.encr.iter().map(|e| e.name()).collect();
            parts.extend(p.integ.iter().map(|x| format!("{:?}", x)));
            parts.join("/")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

struct AuthPayloads<'a> {
    id: Option<&'a Identification>,
    id_r: Option<&'a Identification>,
    auth: Option<&'a Authentication>,
    sa: Option<&'a SaPayload>,
    tsi: Option<&'a TrafficSelectors>,
    tsr: Option<&'a TrafficSelectors>,
}

fn collect(payloads: &[Payload], role_of_sender: Role) -> AuthPayloads<'_> {
    let mut a = AuthPayloads {
        id: None,
        id_r: None,
        auth: None,
        sa: None,
        tsi: None,
        tsr: None,
    };
    for p in payloads {
        match p {
            Payload::IdI(i) if role_of_sender == Role::Initiator => a.id = Some(i),
            Payload::IdR(i) if role_of_sender == Role::Initiator => a.id_r = Some(i),
            Payload::IdR(i) if role_of_sender == Role::Responder => a.id = Some(i),
            Payload::Auth(x) => a.auth = Some(x),
            Payload::Sa(s) => a.sa = Some(s),
            Payload::TsI(t) => a.tsi = Some(t),
            Payload::TsR(t) => a.tsr = Some(t),
            _ => {}
        }
    }
    a
}

impl IkeSa {
    fn local_identity(&self) -> Identification {
        match &self.config.local_id {
            Some(id) => id.to_wire(),
            None => super::config::Identity::Addr(self.local.ip()).to_wire(),
        }
    }

    /// The AUTH value `signer` must send: prf(prf(PSK, "Key Pad for
    /// IKEv2"), <first message of signer> | <other side's nonce> |
    /// prf(SK_p of signer, IDx')).
    fn psk_auth_value(&self, signer: Role, id: &Identification) -> Option<Secret> {
        let suite = self.suite?;
        let k = self.keys.as_ref()?;
        let (first, nonce, sk_p) = match signer {
            Role::Initiator => (&self.init_request, &self.nr, &k.sk_pi),
            Role::Responder => (&self.init_response, &self.ni, &k.sk_pr),
        };
        let mac_id = suite.prf.compute(sk_p.expose(), &[&id_body(id)]);
        let mut octets = Vec::with_capacity(first.len() + nonce.len() + mac_id.len());
        octets.extend_from_slice(first);
        octets.extend_from_slice(nonce);
        octets.extend_from_slice(mac_id.expose());
        Some(keys::psk_auth(suite.prf, &self.config.psk, &octets))
    }

    fn auth_ok(&self, signer: Role, id: &Identification, auth: &Authentication) -> bool {
        if auth.method != AuthMethod::SHARED_KEY_MIC {
            return false;
        }
        match self.psk_auth_value(signer, id) {
            Some(expected) => expected.expose().ct_eq(&auth.data).into(),
            None => false,
        }
    }

    fn ike_sa_info(&self) -> IkeSaInfo {
        IkeSaInfo {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            role: self.role,
            suite: self.suite.expect("established SAs have a suite"),
            nat: self.nat,
            local: self.local,
            remote: self.remote,
        }
    }

    /// Derives the first child SA's keys from SK_d (no PFS in IKE_AUTH).
    fn child_info(
        &self,
        suite: EspSuite,
        spi_in: u32,
        spi_out: u32,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
    ) -> ChildSaInfo {
        let (ni, nr) = (&self.ni, &self.nr);
        let we_initiated = self.role == Role::Initiator;
        self.make_child_info(
            we_initiated,
            ni,
            nr,
            None,
            suite,
            spi_in,
            spi_out,
            local_ts,
            remote_ts,
            None,
        )
    }

    pub(super) fn send_auth_request(&mut self, now: Instant) {
        let id = self.local_identity();
        let Some(auth) = self.psk_auth_value(Role::Initiator, &id) else {
            return;
        };
        self.child_spi_in = self.random_spi32();
        let mut payloads = vec![Payload::IdI(id)];
        if self.config.initial_contact {
            payloads.push(notify(NotifyType::INITIAL_CONTACT, Vec::new()));
        }
        if let Some(r) = &self.config.remote_id {
            payloads.push(Payload::IdR(r.to_wire()));
        }
        payloads.push(Payload::Auth(Authentication {
            method: AuthMethod::SHARED_KEY_MIC,
            data: auth.expose().to_vec(),
        }));
        let proposals = self
            .config
            .esp_proposals
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(i as u8 + 1, self.child_spi_in, false))
            .collect();
        payloads.push(Payload::Sa(SaPayload { proposals }));
        payloads.push(Payload::TsI(TrafficSelectors(self.config.local_ts.clone())));
        payloads.push(Payload::TsR(TrafficSelectors(
            self.config.remote_ts.clone(),
        )));
        self.send_request(now, ExchangeType::IKE_AUTH, payloads);
    }

    pub(super) fn process_auth_request(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: Message,
    ) {
        let inner = match self.open_inner(raw, &msg) {
            Some(Ok(p)) => p,
            _ => {
                // Forged or corrupt: drop silently (RFC 7296 2.21.2) and let
                // the initiator retransmit.
                self.stats.integrity_failures += 1;
                return;
            }
        };
        // The initiator floats to the NAT-T port for IKE_AUTH; answer there.
        if local.port() == self.config.natt_port {
            self.encap = true;
        }
        self.local = local;
        self.remote = remote;
        let id_message = msg.header.message_id;
        let p = collect(&inner, Role::Initiator);
        let (Some(idi), Some(auth)) = (p.id, p.auth) else {
            self.send_response(
                ExchangeType::IKE_AUTH,
                id_message,
                vec![notify(NotifyType::AUTHENTICATION_FAILED, Vec::new())],
            );
            return self.fail(Failure::AuthenticationFailed(
                super::event::auth_failure::MISSING_ID_OR_AUTH,
            ));
        };
        if self
            .config
            .remote_id
            .as_ref()
            .is_some_and(|want| !want.matches(idi))
        {
            self.send_response(
                ExchangeType::IKE_AUTH,
                id_message,
                vec![notify(NotifyType::AUTHENTICATION_FAILED, Vec::new())],
            );
            return self.fail(Failure::AuthenticationFailed(
                super::event::auth_failure::INITIATOR_IDENTITY,
            ));
        }
        if !self.auth_ok(Role::Initiator, idi, auth) {
            self.send_response(
                ExchangeType::IKE_AUTH,
                id_message,
                vec![notify(NotifyType::AUTHENTICATION_FAILED, Vec::new())],
            );
            return self.fail(Failure::AuthenticationFailed(
                super::event::auth_failure::INITIATOR_PSK,
            ));
        }
        let idr = self.local_identity();
        let Some(our_auth) = self.psk_auth_value(Role::Responder, &idr) else {
            return;
        };
        self.state = State::Established;
        self.arm_ike_lifetime(now);
        self.timers.stop(Timer::HalfOpen);
        self.events
            .push_back(Event::IkeSaEstablished(self.ike_sa_info()));

        let mut out = vec![
            Payload::IdR(idr),
            Payload::Auth(Authentication {
                method: AuthMethod::SHARED_KEY_MIC,
                data: our_auth.expose().to_vec(),
            }),
        ];
        match self.choose_first_child(&p) {
            Ok((number, suite, peer_spi, tsi, tsr)) => {
                let spi_in = self.random_spi32();
                out.push(Payload::Sa(SaPayload {
                    proposals: vec![esp_suite_to_wire(number, spi_in, &suite)],
                }));
                out.push(Payload::TsI(TrafficSelectors(tsi.clone())));
                out.push(Payload::TsR(TrafficSelectors(tsr.clone())));
                self.send_response(ExchangeType::IKE_AUTH, id_message, out);
                let info = self.child_info(suite, spi_in, peer_spi, tsr, tsi);
                self.push_child_installed(now, info);
            }
            Err((kind, failure)) => {
                out.push(notify(kind, Vec::new()));
                self.send_response(ExchangeType::IKE_AUTH, id_message, out);
                self.events.push_back(Event::ChildSaFailed(failure));
            }
        }
    }

    /// Chooses the first child SA: proposal, then selectors narrowed to ours.
    #[allow(clippy::type_complexity)]
    fn choose_first_child(
        &self,
        p: &AuthPayloads<'_>,
    ) -> Result<
        (
            u8,
            EspSuite,
            u32,
            Vec<TrafficSelector>,
            Vec<TrafficSelector>,
        ),
        (NotifyType, Failure),
    > {
        let (Some(sa), Some(tsi), Some(tsr)) = (p.sa, p.tsi, p.tsr) else {
            return Err((
                NotifyType::INVALID_SYNTAX,
                Failure::Protocol("IKE_AUTH without SA, TSi or TSr".into()),
            ));
        };
        let choice = choose_esp(
            self.config.policy.as_ref(),
            &sa.proposals,
            &self.config.esp_proposals,
            false,
        )
        .map_err(|m| (NotifyType::NO_PROPOSAL_CHOSEN, Failure::NoProposalChosen(m)))?;
        let narrowed_i = selectors::narrow(&tsi.0, &self.config.remote_ts);
        let narrowed_r = selectors::narrow(&tsr.0, &self.config.local_ts);
        if narrowed_i.is_empty() || narrowed_r.is_empty() {
            let mut configured = self.config.remote_ts.clone();
            configured.extend(self.config.local_ts.iter().cloned());
            let mut proposed = tsi.0.clone();
            proposed.extend(tsr.0.iter().cloned());
            return Err((
                NotifyType::TS_UNACCEPTABLE,
                Failure::TsUnacceptable {
                    proposed: ts_text(&proposed),
                    configured: ts_text(&configured),
                },
            ));
        }
        Ok((
            choice.number,
            choice.suite,
            choice.peer_spi,
            narrowed_i,
            narrowed_r,
        ))
    }

    pub(super) fn process_auth_response(&mut self, now: Instant, raw: &[u8], msg: Message) {
        let peer = self.remote;
        let inner = match self.open_inner(raw, &msg) {
            Some(Ok(p)) => p,
            _ => {
                self.stats.integrity_failures += 1;
                return;
            }
        };
        self.request_answered();
        if inner.notify(NotifyType::AUTHENTICATION_FAILED).is_some() {
            return self.fail(Failure::PeerAuthenticationFailed { peer });
        }
        let p = collect(&inner, Role::Responder);
        let (Some(idr), Some(auth)) = (p.id, p.auth) else {
            let f = match inner.error_notify() {
                Some(n) => Failure::PeerError {
                    peer,
                    notify: n.kind,
                },
                None => Failure::Protocol("IKE_AUTH response without IDr or AUTH".into()),
            };
            return self.fail(f);
        };
        if self
            .config
            .remote_id
            .as_ref()
            .is_some_and(|want| !want.matches(idr))
        {
            return self.fail(Failure::AuthenticationFailed(
                super::event::auth_failure::RESPONDER_IDENTITY,
            ));
        }
        if !self.auth_ok(Role::Responder, idr, auth) {
            return self.fail(Failure::AuthenticationFailed(
                super::event::auth_failure::RESPONDER_PSK,
            ));
        }
        self.state = State::Established;
        self.arm_ike_lifetime(now);
        self.events
            .push_back(Event::IkeSaEstablished(self.ike_sa_info()));

        // The IKE SA stands even when the child SA fails (RFC 7296 1.2).
        if let Some(n) = inner.error_notify() {
            let f = match n.kind {
                NotifyType::NO_PROPOSAL_CHOSEN => Failure::PeerNoProposalChosen {
                    peer,
                    offered: summarize_esp(&self.config.esp_proposals),
                },
                NotifyType::TS_UNACCEPTABLE => Failure::PeerTsUnacceptable { peer },
                kind => Failure::PeerError { peer, notify: kind },
            };
            self.events.push_back(Event::ChildSaFailed(f));
            return;
        }
        let (Some(sa), Some(tsi), Some(tsr)) = (p.sa, p.tsi, p.tsr) else {
            self.events
                .push_back(Event::ChildSaFailed(Failure::Protocol(
                    "IKE_AUTH response without SA, TSi or TSr".into(),
                )));
            return;
        };
        let answer = match sa.proposals.as_slice() {
            [p] => esp_suite_from_answer(p, &self.config.esp_proposals, false),
            _ => None,
        };
        let Some((spi_out, suite)) = answer else {
            self.events
                .push_back(Event::ChildSaFailed(Failure::Protocol(
                    "responder chose a child proposal we did not offer".into(),
                )));
            return;
        };
        if !selectors::within(&tsi.0, &self.config.local_ts)
            || !selectors::within(&tsr.0, &self.config.remote_ts)
        {
            let mut proposed = tsi.0.clone();
            proposed.extend(tsr.0.iter().cloned());
            let mut configured = self.config.local_ts.clone();
            configured.extend(self.config.remote_ts.iter().cloned());
            self.events
                .push_back(Event::ChildSaFailed(Failure::TsUnacceptable {
                    proposed: ts_text(&proposed),
                    configured: ts_text(&configured),
                }));
            return;
        }
        let info = self.child_info(
            suite,
            self.child_spi_in,
            spi_out,
            tsi.0.clone(),
            tsr.0.clone(),
        );
        self.push_child_installed(now, info);
    }
}
