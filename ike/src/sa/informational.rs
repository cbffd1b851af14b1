//! INFORMATIONAL exchanges (RFC 7296 1.4): the peer's liveness checks and
//! deletes, and the answers to our own requests (DPD probes and deletes are
//! sent from `liveness.rs` and the request queue).

use std::time::Instant;

use super::event::{DeletedBy, Event};
use super::ike_sa::{IkeSa, Purpose};
use crate::wire::{Delete, ExchangeType, Message, Payload, ProtocolId};

impl IkeSa {
    pub(super) fn process_informational_request(&mut self, raw: &[u8], msg: Message) {
        let inner = match self.open_inner(raw, &msg) {
            Some(Ok(p)) => p,
            _ => {
                self.stats.integrity_failures += 1;
                return;
            }
        };
        let id = msg.header.message_id;
        let mut close = false;
        // Our inbound SPIs of the pairs the peer deleted, for the answer.
        let mut ours = Vec::new();
        for p in &inner {
            let Payload::Delete(d) = p else { continue };
            match d.protocol {
                ProtocolId::IKE => close = true,
                ProtocolId::ESP => {
                    // The peer names its inbound SPIs: our outbound ones.
                    // Unknown SPIs are ignored (the answer leaves them out).
                    for &spi_out in &d.spis {
                        let Some(child) = self.child_by_spi_out(spi_out) else {
                            continue;
                        };
                        self.take_child(child.spi_in);
                        self.unqueue_child_delete(child.spi_in);
                        // Deletes that crossed (1.4.1): our own request
                        // already names this pair; the answer must not.
                        if !self.deleting_child(child.spi_in) {
                            ours.push(child.spi_in);
                        }
                        self.events.push_back(Event::ChildSaDeleted {
                            spi_in: child.spi_in,
                            by: DeletedBy::Peer,
                        });
                    }
                }
                _ => {}
            }
        }
        if close {
            // RFC 7296 1.4.1: the answer to an IKE SA delete is empty; the
            // IKE SA takes its children with it.
            self.send_response(ExchangeType::INFORMATIONAL, id, Vec::new());
            self.close_with_children(DeletedBy::Peer);
            return;
        }
        let mut answer = Vec::new();
        if !ours.is_empty() {
            answer.push(Payload::Delete(Delete {
                protocol: ProtocolId::ESP,
                spis: ours,
            }));
        }
        self.send_response(ExchangeType::INFORMATIONAL, id, answer);
    }

    pub(super) fn process_informational_response(
        &mut self,
        now: Instant,
        raw: &[u8],
        msg: Message,
    ) {
        let authentic = matches!(self.open_inner(raw, &msg), Some(Ok(_)));
        if !authentic {
            self.stats.integrity_failures += 1;
            return;
        }
        let purpose = self.pending.take().map(|p| p.purpose).unwrap_or_default();
        self.request_answered();
        match purpose {
            Purpose::DeleteChildren(spis) => self.children_delete_answered(spis),
            Purpose::DeleteIke => self.close_with_children(DeletedBy::Us),
            Purpose::Dpd { .. } => self.probe_answered(now),
            _ => {}
        }
    }
}
