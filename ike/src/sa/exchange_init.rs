//! IKE_SA_INIT (RFC 7296 1.2): proposals, Diffie-Hellman, nonces, NAT
//! detection, INVALID_KE_PAYLOAD and COOKIE retries, both roles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::config::IkeConfig;
use super::lookup::Lookup;
use rand_core::RngCore;

use super::event::{Failure, NatState, Role};
use super::ike_sa::{IkeSa, State};
use super::proposal::{
    choose_ike, ike_suite_from_answer, ike_suite_to_wire, IkeProposal, IkeSuite,
};
use super::protect::SkKeys;
use super::timer::Timer;
use crate::crypto::{keys, DhGroup, KeyPair};
use crate::natt::nat_detection_hash;
use crate::wire::{
    DhId, ExchangeType, KeyExchange, Message, Nonce, Notify, NotifyType, Payload, ProtocolId,
    SaPayload,
};

/// Why a datagram could not start a responder IKE SA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// It does not parse.
    #[error("malformed: {0}")]
    Malformed(#[from] crate::wire::ParseError),
    /// It is not an IKE_SA_INIT request with message ID 0 and no responder SPI.
    #[error("not an initial IKE_SA_INIT request")]
    NotInitRequest,
}

pub(super) fn notify(kind: NotifyType, data: Vec<u8>) -> Payload {
    Payload::Notify(Notify {
        protocol: ProtocolId(0),
        spi: Vec::new(),
        kind,
        data,
    })
}

fn nat_hashes(payloads: &[Payload], kind: NotifyType) -> Vec<&[u8]> {
    payloads
        .iter()
        .filter_map(|p| match p {
            Payload::Notify(n) if n.kind == kind => Some(n.data.as_slice()),
            _ => None,
        })
        .collect()
}

/// Summarises proposals for error messages ("AES_CBC_128/HmacSha1/...").
pub(super) fn summarize_ike(ps: &[IkeProposal]) -> String {
    ps.iter()
        .map(|p| {
            let mut parts: Vec<String> = p.encr.iter().map(|e| e.name()).collect();
            parts.extend(p.prf.iter().map(|x| format!("PRF_{:?}", x)));
            parts.extend(p.integ.iter().map(|x| format!("{:?}", x)));
            parts.extend(p.dh.iter().map(|g| g.to_string()));
            parts.join("/")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

impl IkeSa {
    /// Starts an IKE SA as initiator from `local` to `remote` (port 500):
    /// queues IKE_SA_INIT. `seed` seeds every random choice (SPIs, nonces,
    /// DH keys, IVs), so a seeded run is reproducible byte for byte.
    pub fn initiate(
        config: Arc<IkeConfig>,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
        seed: [u8; 32],
    ) -> IkeSa {
        let mut sa = IkeSa::blank(config, Role::Initiator, local, remote, seed);
        sa.spi_i = sa.random_spi64();
        sa.ni = sa.random_nonce();
        let group = sa
            .config
            .ike_proposals
            .iter()
            .flat_map(|p| p.dh.first())
            .next()
            .copied();
        match group {
            Some(g) => {
                sa.dh = Some(KeyPair::generate(g, &mut sa.rng));
                sa.state = State::InitSent;
                sa.send_init_request(now);
            }
            None => sa.fail(Failure::Protocol(
                "no IKE proposal with a DH group configured".into(),
            )),
        }
        sa
    }

    fn send_init_request(&mut self, now: Instant) {
        let dh = self.dh.as_ref().expect("key pair made before sending");
        let mut payloads = Vec::new();
        if let Some(c) = &self.cookie {
            payloads.push(notify(NotifyType::COOKIE, c.clone()));
        }
        let proposals = self
            .config
            .ike_proposals
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_wire(i as u8 + 1, Vec::new()))
            .collect();
        payloads.push(Payload::Sa(SaPayload { proposals }));
        payloads.push(Payload::Ke(KeyExchange {
            group: dh.group().id(),
            data: dh.public_key().to_vec(),
        }));
        payloads.push(Payload::Nonce(Nonce(self.ni.clone())));
        payloads.extend(self.nat_detection_payloads());
        self.next_request_id = 0;
        self.init_request = self.send_request(now, ExchangeType::IKE_SA_INIT, payloads);
    }

    /// NAT_DETECTION_SOURCE_IP and _DESTINATION_IP for our next message.
    /// With forced encapsulation the source hash is made not to match, as
    /// strongSwan's `encap = yes` does, so that both sides float to 4500.
    fn nat_detection_payloads(&mut self) -> Vec<Payload> {
        let mut src = nat_detection_hash(self.spi_i, self.spi_r, self.local).to_vec();
        if self.config.force_encapsulation {
            self.rng.fill_bytes(&mut src);
        }
        let dst = nat_detection_hash(self.spi_i, self.spi_r, self.remote).to_vec();
        vec![
            notify(NotifyType::NAT_DETECTION_SOURCE_IP, src),
            notify(NotifyType::NAT_DETECTION_DESTINATION_IP, dst),
        ]
    }

    /// Judges the peer's NAT detection notifies of a message carrying
    /// `spi_r` in its header. Returns `None` when the peer sent none (it
    /// does not do NAT-T).
    fn detect_nat(&self, payloads: &[Payload], spi_r: u64) -> Option<NatState> {
        let src = nat_hashes(payloads, NotifyType::NAT_DETECTION_SOURCE_IP);
        let dst = nat_hashes(payloads, NotifyType::NAT_DETECTION_DESTINATION_IP);
        if src.is_empty() && dst.is_empty() {
            return None;
        }
        let remote_hash = nat_detection_hash(self.spi_i, spi_r, self.remote);
        let local_hash = nat_detection_hash(self.spi_i, spi_r, self.local);
        Some(NatState {
            remote_behind_nat: !src.iter().any(|h| *h == remote_hash),
            local_behind_nat: self.config.force_encapsulation
                || !dst.iter().any(|h| *h == local_hash),
        })
    }

    /// Switches IKE (and later ESP) to the NAT-T port on both ends.
    fn float(&mut self) {
        self.encap = true;
        self.local.set_port(self.config.natt_port);
        self.remote.set_port(self.config.natt_port);
    }

    pub(super) fn process_init_response(
        &mut self,
        now: Instant,
        _local: SocketAddr,
        _remote: SocketAddr,
        raw: &[u8],
        msg: Message,
    ) {
        let peer = self.remote;
        let payloads = &msg.payloads;
        if let Some(c) = payloads.notify(NotifyType::COOKIE) {
            // RFC 7296 2.6: repeat the request with the cookie first.
            self.cookie = Some(c.data.clone());
            self.request_answered();
            self.send_init_request(now);
            return;
        }
        if let Some(n) = payloads.notify(NotifyType::INVALID_KE_PAYLOAD) {
            self.request_answered();
            let wanted_id = match n.data.as_slice() {
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => {
                    return self.fail(Failure::Protocol(
                        "INVALID_KE_PAYLOAD without a 2-byte group".into(),
                    ))
                }
            };
            let wanted = DhGroup::from_id(wanted_id);
            let offered =
                wanted.filter(|g| self.config.ike_proposals.iter().any(|p| p.dh.contains(g)));
            let current = self.dh.as_ref().map(|d| d.group());
            match offered {
                _ if self.ke_retried => {
                    let tried = current.expect("retried with a group");
                    self.fail(Failure::InvalidKeAfterRetry { peer, tried })
                }
                Some(g) if Some(g) != current => {
                    self.ke_retried = true;
                    self.dh = Some(KeyPair::generate(g, &mut self.rng));
                    self.send_init_request(now);
                }
                _ => self.fail(Failure::InvalidKeNotOffered {
                    peer,
                    wanted,
                    wanted_id,
                }),
            }
            return;
        }
        if let Some(n) = payloads.error_notify() {
            self.request_answered();
            let f = if n.kind == NotifyType::NO_PROPOSAL_CHOSEN {
                Failure::PeerNoProposalChosen {
                    peer,
                    offered: summarize_ike(&self.config.ike_proposals),
                }
            } else {
                Failure::PeerError {
                    peer,
                    notify: n.kind,
                }
            };
            return self.fail(f);
        }
        let (Some(sa), Some(ke), Some(nr)) = (payloads.sa(), payloads.ke(), payloads.nonce())
        else {
            // Not a valid answer; keep waiting (it may be forged).
            self.stats.unexpected += 1;
            return;
        };
        let suite = match sa.proposals.as_slice() {
            [p] => ike_suite_from_answer(p, &self.config.ike_proposals),
            _ => None,
        };
        let Some(suite) = suite else {
            self.request_answered();
            return self.fail(Failure::Protocol(
                "responder chose a proposal we did not offer".into(),
            ));
        };
        let Some(dh) = self.dh.as_ref() else { return };
        if suite.dh != dh.group() || ke.group != dh.group().id() {
            self.request_answered();
            return self.fail(Failure::Protocol(format!(
                "responder chose {} but sent KE for group {}",
                suite.dh, ke.group.0
            )));
        }
        if msg.header.spi_r == 0 || !(16..=256).contains(&nr.len()) {
            self.request_answered();
            return self.fail(Failure::Protocol(
                "responder SPI zero or nonce length out of range".into(),
            ));
        }
        let shared = match dh.agree(&ke.data) {
            Ok(s) => s,
            Err(e) => {
                self.request_answered();
                return self.fail(Failure::Protocol(format!("responder's KE: {e}")));
            }
        };
        self.request_answered();
        self.spi_r = msg.header.spi_r;
        self.nr = nr.to_vec();
        self.init_response = raw.to_vec();
        let nat = self.detect_nat(payloads, self.spi_r);
        self.nat = nat.unwrap_or_default();
        if nat.is_some_and(|n| n.detected()) {
            self.float();
        }
        if let Err(e) = self.install_ike_keys(suite, &shared) {
            return self.fail(Failure::Protocol(format!("key setup: {e}")));
        }
        self.dh = None;
        self.state = State::AuthSent;
        self.send_auth_request(now);
    }

    pub(super) fn install_ike_keys(
        &mut self,
        suite: IkeSuite,
        shared: &crate::crypto::Secret,
    ) -> Result<(), crate::crypto::CryptoError> {
        let k = keys::derive_ike_keys(
            suite.prf,
            suite.encr,
            suite.integ,
            shared,
            &self.ni,
            &self.nr,
            self.spi_i,
            self.spi_r,
        );
        self.sk = Some(SkKeys::new(&suite, &k, self.role)?);
        self.keys = Some(k);
        self.suite = Some(suite);
        Ok(())
    }

    /// Answers an initial IKE_SA_INIT request as responder. Always returns
    /// an IKE SA, unless the datagram is not such a request: a refused one
    /// (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD) is already closed, with its
    /// answer queued and a failure event for the log.
    pub fn accept(
        config: Arc<IkeConfig>,
        local: SocketAddr,
        remote: SocketAddr,
        message: &[u8],
        now: Instant,
        seed: [u8; 32],
    ) -> Result<IkeSa, AcceptError> {
        let msg = Message::parse(message)?;
        let h = &msg.header;
        if h.exchange != ExchangeType::IKE_SA_INIT
            || h.flags.response
            || !h.flags.initiator
            || h.spi_r != 0
            || h.message_id != 0
        {
            return Err(AcceptError::NotInitRequest);
        }
        let mut sa = IkeSa::blank(config, Role::Responder, local, remote, seed);
        sa.spi_i = h.spi_i;
        sa.encap = local.port() == sa.config.natt_port;
        sa.respond_init(now, message, &msg);
        Ok(sa)
    }

    fn respond_init(&mut self, now: Instant, raw: &[u8], msg: &Message) {
        let payloads = &msg.payloads;
        let (Some(sa), Some(ke), Some(ni)) = (payloads.sa(), payloads.ke(), payloads.nonce())
        else {
            self.send_response(
                ExchangeType::IKE_SA_INIT,
                0,
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
            );
            return self.fail(Failure::Protocol(
                "IKE_SA_INIT without SA, KE or Nonce".into(),
            ));
        };
        let choice = match choose_ike(
            self.config.policy.as_ref(),
            &sa.proposals,
            &self.config.ike_proposals,
        ) {
            Ok(c) => c,
            Err(m) => {
                self.send_response(
                    ExchangeType::IKE_SA_INIT,
                    0,
                    vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                );
                return self.fail(Failure::NoProposalChosen(m));
            }
        };
        if ke.group != choice.suite.dh.id() {
            // Stateless (RFC 7296 1.3): tell the initiator which group to use.
            let data = (choice.suite.dh as u16).to_be_bytes().to_vec();
            self.send_response(
                ExchangeType::IKE_SA_INIT,
                0,
                vec![notify(NotifyType::INVALID_KE_PAYLOAD, data)],
            );
            let asked = DhId(choice.suite.dh as u16);
            return self.fail(Failure::Protocol(format!(
                "INVALID_KE_PAYLOAD sent: KE for group {} but {} chosen",
                ke.group.0, asked
            )));
        }
        if !(16..=256).contains(&ni.len()) {
            self.send_response(
                ExchangeType::IKE_SA_INIT,
                0,
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
            );
            return self.fail(Failure::Protocol(format!("nonce of {} bytes", ni.len())));
        }
        let ours = KeyPair::generate(choice.suite.dh, &mut self.rng);
        let shared = match ours.agree(&ke.data) {
            Ok(s) => s,
            Err(e) => {
                self.send_response(
                    ExchangeType::IKE_SA_INIT,
                    0,
                    vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                );
                return self.fail(Failure::Protocol(format!("initiator's KE: {e}")));
            }
        };
        self.spi_r = self.random_spi64();
        self.ni = ni.to_vec();
        self.nr = self.random_nonce();
        // The initiator's hashes were computed with a zero responder SPI.
        let nat = self.detect_nat(payloads, 0);
        self.nat = nat.unwrap_or_default();
        let mut out = vec![
            Payload::Sa(SaPayload {
                proposals: vec![ike_suite_to_wire(choice.number, Vec::new(), &choice.suite)],
            }),
            Payload::Ke(KeyExchange {
                group: choice.suite.dh.id(),
                data: ours.public_key().to_vec(),
            }),
            Payload::Nonce(Nonce(self.nr.clone())),
        ];
        if nat.is_some() {
            out.extend(self.nat_detection_payloads());
        }
        self.init_request = raw.to_vec();
        self.init_response = self.send_response(ExchangeType::IKE_SA_INIT, 0, out);
        if let Err(e) = self.install_ike_keys(choice.suite, &shared) {
            return self.fail(Failure::Protocol(format!("key setup: {e}")));
        }
        self.state = State::InitAnswered;
        self.timers
            .set(Timer::HalfOpen, now + self.config.half_open_timeout);
    }
}
