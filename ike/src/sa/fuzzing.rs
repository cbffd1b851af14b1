//! Test hooks for the `established` fuzz target (fuzz/fuzz_targets/),
//! hidden from the documentation. NOT FOR PRODUCTION USE: nothing outside
//! fuzzing and its seed generator may call them.
//!
//! Why they exist: once an IKE SA is established, every message is
//! protected by the SK payload's ICV, so a fuzzer that mutates datagrams
//! never gets past the integrity check into the exchanges that follow
//! IKE_AUTH (INFORMATIONAL deletes and liveness checks, CREATE_CHILD_SA
//! rekeys, SKF reassembly of them). These hooks let one side of a genuine
//! pair send fuzzer-chosen inner payload bytes (not parsed, so invalid
//! chains too) sealed under the SA's real keys, through the same path as
//! the engine's own messages: message IDs, retransmission or the response
//! cache, fragmentation when negotiated, port-4500 framing.

use std::time::Instant;

use super::ike_sa::{IkeSa, State};
use crate::wire::{ExchangeType, PayloadType};

impl IkeSa {
    /// Fuzzing only (see the module comment): sends `inner`, an inner
    /// payload chain whose first payload is `first_inner`, as our next
    /// request of `exchange`, sealed with the SA's keys (fragmented when
    /// negotiated and too large). The request is outstanding as a plain
    /// one: its answer is matched and retransmission runs, but nothing
    /// beyond that is learnt from it. Returns false, sending nothing,
    /// unless the SA is established and no request is outstanding.
    #[doc(hidden)]
    pub fn fuzz_send_request(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        first_inner: PayloadType,
        inner: &[u8],
    ) -> bool {
        if self.state != State::Established || self.pending.is_some() || self.sk.is_none() {
            return false;
        }
        let message_id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let messages =
            self.build_messages_plain(exchange, message_id, false, first_inner, inner.to_vec());
        self.send_request_messages(now, exchange, message_id, messages);
        true
    }

    /// Fuzzing only (see the module comment): answers the peer's next
    /// request (the message ID we expect from it next), before it has
    /// come, with `inner` (first payload `first_inner`) sealed with the
    /// SA's keys as a response of `exchange`, cached as the answer to
    /// that request. So the initiator-side handlers of responses can be
    /// fed: the request the peer has outstanding gets this answer.
    /// Returns false, sending nothing, unless the SA is established.
    #[doc(hidden)]
    pub fn fuzz_send_response(
        &mut self,
        exchange: ExchangeType,
        first_inner: PayloadType,
        inner: &[u8],
    ) -> bool {
        if self.state != State::Established || self.sk.is_none() {
            return false;
        }
        let message_id = self.next_peer_request_id;
        let messages =
            self.build_messages_plain(exchange, message_id, true, first_inner, inner.to_vec());
        self.send_response_messages(message_id, messages);
        true
    }
}
