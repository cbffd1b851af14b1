//! What an IKE SA reports: typed events and failure reasons.

use std::net::SocketAddr;

use super::config::DpdAction;
use super::proposal::{EspSuite, IkeSuite, Mismatch};
use crate::crypto::{DhGroup, Secret};
use crate::wire::{NotifyType, TrafficSelector};

/// Which end of the IKE SA we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent IKE_SA_INIT.
    Initiator,
    /// We answered it.
    Responder,
}

/// What NAT detection found (RFC 7296 2.23): the AWS logs' `nat_t_detected`
/// is `local_behind_nat || remote_behind_nat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatState {
    /// Our address/port as the peer saw it differs from ours: we are behind
    /// a NAT (or pretend to be, when encapsulation is forced).
    pub local_behind_nat: bool,
    /// The peer's address/port differs from what it claims.
    pub remote_behind_nat: bool,
}

impl NatState {
    /// Whether any NAT was detected.
    pub fn detected(&self) -> bool {
        self.local_behind_nat || self.remote_behind_nat
    }
}

/// An established IKE SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaInfo {
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// Our role.
    pub role: Role,
    /// The negotiated transforms.
    pub suite: IkeSuite,
    /// What NAT detection found.
    pub nat: NatState,
    /// Our address and port now in use.
    pub local: SocketAddr,
    /// The peer's address and port now in use.
    pub remote: SocketAddr,
}

/// One direction's ESP keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspKeys {
    /// Encryption keymat (key || salt for GCM).
    pub encr: Secret,
    /// Integrity key (empty for AEAD).
    pub integ: Secret,
}

/// An installed child SA pair: what the data plane needs to build its ESP
/// SAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaInfo {
    /// SPI of our inbound SA (the peer sends with it).
    pub spi_in: u32,
    /// SPI of our outbound SA.
    pub spi_out: u32,
    /// The negotiated transforms.
    pub suite: EspSuite,
    /// Keys of the inbound SA.
    pub keys_in: EspKeys,
    /// Keys of the outbound SA.
    pub keys_out: EspKeys,
    /// Our selectors.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// ESP travels in UDP (RFC 3948) between these addresses, when set.
    pub encapsulation: Option<(SocketAddr, SocketAddr)>,
    /// The inbound SPI of the pair this one rekeys: send on the new pair
    /// from now on, and keep the old inbound SA until it is deleted.
    pub replaces: Option<u32>,
}

/// Why an exchange failed. Precise enough for a diagnosis: a test can
/// assert "NO_PROPOSAL_CHOSEN because DH group 5 was offered".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// We (responder) found nothing acceptable in the peer's proposals.
    #[error("NO_PROPOSAL_CHOSEN: {0}")]
    NoProposalChosen(Mismatch),
    /// The peer answered NO_PROPOSAL_CHOSEN to what we offered.
    #[error("NO_PROPOSAL_CHOSEN from {peer}: we offered {offered}")]
    PeerNoProposalChosen {
        /// The peer.
        peer: SocketAddr,
        /// Our offer, summarised.
        offered: String,
    },
    /// The peer asked (INVALID_KE_PAYLOAD) for a group we did not offer.
    #[error("INVALID_KE_PAYLOAD from {peer}: it wants {wanted:?} (id {wanted_id}), which we do not offer")]
    InvalidKeNotOffered {
        /// The peer.
        peer: SocketAddr,
        /// The group it asked for, if we know it.
        wanted: Option<DhGroup>,
        /// Its IANA ID.
        wanted_id: u16,
    },
    /// INVALID_KE_PAYLOAD again after we had retried with the group asked for.
    #[error("INVALID_KE_PAYLOAD from {peer} again after retrying with {tried}")]
    InvalidKeAfterRetry {
        /// The peer.
        peer: SocketAddr,
        /// The group we retried with.
        tried: DhGroup,
    },
    /// The peer's AUTH payload did not verify (wrong PSK) or its identity is
    /// not the one configured.
    #[error("AUTHENTICATION_FAILED: {0}")]
    AuthenticationFailed(&'static str),
    /// The peer rejected our AUTH (PSK mismatch on its side).
    #[error("AUTHENTICATION_FAILED from {peer}: the peer rejected our authentication (pre-shared key mismatch?)")]
    PeerAuthenticationFailed {
        /// The peer.
        peer: SocketAddr,
    },
    /// The selectors proposed are not within ours.
    #[error("TS_UNACCEPTABLE: proposed {proposed}, configured {configured}")]
    TsUnacceptable {
        /// What was proposed.
        proposed: String,
        /// What we allow.
        configured: String,
    },
    /// The peer answered TS_UNACCEPTABLE.
    #[error("TS_UNACCEPTABLE from {peer}")]
    PeerTsUnacceptable {
        /// The peer.
        peer: SocketAddr,
    },
    /// Another error notify from the peer.
    #[error("{notify} from {peer}")]
    PeerError {
        /// The peer.
        peer: SocketAddr,
        /// The notify type.
        notify: NotifyType,
    },
    /// Our request was never answered.
    #[error("no response from {peer} after {tries} tries")]
    NoResponse {
        /// The peer.
        peer: SocketAddr,
        /// How many times the request was sent.
        tries: u32,
    },
    /// The peer sent something that breaks the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// We (responder) refused a child SA pair over the configured number
    /// per IKE SA ([`super::IkeConfig::max_child_sas`]).
    #[error("refused an additional child SA with {answered}: at most {limit} pair(s) per IKE SA")]
    ChildSaLimit {
        /// The configured number of pairs.
        limit: usize,
        /// The notify we answered with.
        answered: NotifyType,
    },
    /// A responder's IKE SA was never authenticated in time.
    #[error("half-open IKE SA timed out waiting for IKE_AUTH")]
    HalfOpenTimeout,
}

/// The reasons of [`Failure::AuthenticationFailed`] the IKE_AUTH checks
/// give, so that a caller can tell a pre-shared key mismatch (and which
/// side found it) without parsing text.
pub mod auth_failure {
    /// IKE_AUTH request without IDi or AUTH (we are the responder).
    pub const MISSING_ID_OR_AUTH: &str = "IKE_AUTH without IDi or AUTH";
    /// The initiator's identity is not the configured one (we are the
    /// responder).
    pub const INITIATOR_IDENTITY: &str = "the initiator's identity is not the one configured";
    /// The initiator's AUTH does not verify (we are the responder).
    pub const INITIATOR_PSK: &str = "the initiator's AUTH does not verify: pre-shared key mismatch";
    /// The responder's identity is not the configured one (we are the
    /// initiator).
    pub const RESPONDER_IDENTITY: &str = "the responder's identity is not the one configured";
    /// The responder's AUTH does not verify (we are the initiator).
    pub const RESPONDER_PSK: &str = "the responder's AUTH does not verify: pre-shared key mismatch";
}

impl Failure {
    /// Whether we found the peer's AUTH wrong: a pre-shared key mismatch
    /// detected on our side (either role).
    pub fn is_local_psk_mismatch(&self) -> bool {
        matches!(self, Failure::AuthenticationFailed(r)
            if *r == auth_failure::INITIATOR_PSK || *r == auth_failure::RESPONDER_PSK)
    }

    /// Whether we, as responder, answered the peer's IKE_AUTH with
    /// AUTHENTICATION_FAILED.
    pub fn sent_authentication_failed(&self) -> bool {
        matches!(self, Failure::AuthenticationFailed(r)
            if [
                auth_failure::MISSING_ID_OR_AUTH,
                auth_failure::INITIATOR_IDENTITY,
                auth_failure::INITIATOR_PSK,
            ]
            .contains(r))
    }
}

/// Who ended an SA: the AWS mock logs "AWS tunnel received DELETE for
/// IKE_SA from CGW" only for [`DeletedBy::Peer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// The peer sent a Delete.
    Peer,
    /// We did: `delete_child` / `delete_ike` (answered or not), or dead peer
    /// detection.
    Us,
}

/// Something that happened to the IKE SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The IKE SA is authenticated and established.
    IkeSaEstablished(IkeSaInfo),
    /// A child SA pair is installed.
    ChildSaInstalled(ChildSaInfo),
    /// The IKE SA could not be established (or was torn down by an error).
    IkeSaFailed(Failure),
    /// The IKE SA is up but its child SA could not be created.
    ChildSaFailed(Failure),
    /// A child SA pair is gone (our inbound SPI): the data plane drops it.
    ChildSaDeleted {
        /// Our inbound SPI of the deleted pair.
        spi_in: u32,
        /// Who deleted it.
        by: DeletedBy,
    },
    /// The IKE SA is gone (deleted by the peer or by us, or expired); its
    /// child SAs were reported deleted just before.
    IkeSaClosed {
        /// Who deleted it.
        by: DeletedBy,
    },
    /// Dead peer detection declared the peer dead: no answer to a probe
    /// retransmitted `retransmits` times within the DPD timeout ("AWS
    /// tunnel DPD timed out after {retransmits} retransmits"). `action`
    /// follows: child and IKE SA deleted events for `Clear` and `Restart`
    /// (then a new IKE_SA_INIT), nothing for `None`.
    DpdTimeout {
        /// The configured action, applied right after this event.
        action: DpdAction,
        /// Retransmissions of the probe before the peer was declared dead.
        retransmits: u32,
    },
    /// The IKE SA was rekeyed: the new one (with the child SAs) carries on
    /// under new SPIs; the old one is deleted without further events.
    IkeSaRekeyed {
        /// The old initiator SPI.
        old_spi_i: u64,
        /// The old responder SPI.
        old_spi_r: u64,
        /// The new IKE SA.
        new: IkeSaInfo,
    },
    /// The peer, behind a NAT, now sends from another address or port (its
    /// NAT mapping changed; RFC 7296 2.23): IKE and UDP-encapsulated ESP go
    /// to `new` from now on. Only an authenticated message moves it.
    PeerAddressChanged {
        /// The address and port used until now.
        old: SocketAddr,
        /// The address and port in use from now on.
        new: SocketAddr,
    },
    /// A child SA pair beyond the first (CREATE_CHILD_SA without
    /// REKEY_SA, RFC 7296 1.3.1) could not be created: the peer refused
    /// ours, or we refused the peer's. The IKE SA and its other pairs are
    /// unaffected.
    AdditionalChildSaFailed {
        /// Why: `Peer*` when the peer refused, otherwise our refusal.
        failure: Failure,
        /// The initiator's selectors (TSi) of the refused pair.
        tsi: Vec<TrafficSelector>,
        /// The responder's selectors (TSr) of the refused pair.
        tsr: Vec<TrafficSelector>,
    },
    /// Both ends rekeyed the same child SA at once (RFC 7296 2.8.1) and
    /// both exchanges completed: one of the two new pairs is redundant.
    /// Reported when the collision is resolved, before the deletes.
    ChildRekeyCollision {
        /// Our inbound SPI of the pair both ends rekeyed.
        old_spi_in: u32,
        /// Our inbound SPI of the new pair that survives.
        kept_spi_in: u32,
        /// Our inbound SPI of the redundant new pair, deleted by whichever
        /// end created it (the exchange with the lowest nonce).
        redundant_spi_in: u32,
        /// Whether we delete the redundant pair (our exchange had the
        /// lowest nonce); otherwise we delete the old pair.
        we_delete_redundant: bool,
    },
}

impl ChildSaInfo {
    /// Builds the data plane's outbound ESP SA (`iv_seed` seeds CBC IVs).
    pub fn outbound_sa(
        &self,
        iv_seed: [u8; 32],
    ) -> Result<crate::esp::OutboundSa, crate::esp::EspError> {
        crate::esp::OutboundSa::new(
            self.spi_out,
            self.suite.encr,
            self.suite.integ,
            &self.keys_out.encr,
            &self.keys_out.integ,
            iv_seed,
        )
    }

    /// Builds the data plane's inbound ESP SA with an anti-replay window of
    /// `replay_window` packets.
    pub fn inbound_sa(
        &self,
        replay_window: u32,
    ) -> Result<crate::esp::InboundSa, crate::esp::EspError> {
        crate::esp::InboundSa::new(
            self.spi_in,
            self.suite.encr,
            self.suite.integ,
            &self.keys_in.encr,
            &self.keys_in.integ,
            replay_window,
        )
    }
}
