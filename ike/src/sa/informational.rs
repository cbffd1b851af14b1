//! INFORMATIONAL exchanges (RFC 7296 1.4): liveness checks and deletes
//! from the peer, and the answers to our own deletes.

use super::event::Event;
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
        let mut ours = Vec::new();
        let mut close = false;
        for p in &inner {
            let Payload::Delete(d) = p else { continue };
            match d.protocol {
                ProtocolId::IKE => close = true,
                ProtocolId::ESP => {
                    for spi_out in &d.spis {
                        let Some(i) = self.children.iter().position(|c| c.spi_out == *spi_out)
                        else {
                            continue;
                        };
                        let child = self.children.remove(i);
                        // Answer with our inbound SPI of the same pair.
                        ours.push(child.spi_in);
                        self.events.push_back(Event::ChildSaDeleted {
                            spi_in: child.spi_in,
                        });
                    }
                }
                _ => {}
            }
        }
        if close {
            // RFC 7296 1.4.1: the answer to an IKE SA delete is empty.
            self.send_response(ExchangeType::INFORMATIONAL, id, Vec::new());
            self.close_deleted();
        } else {
            let answer = if ours.is_empty() {
                Vec::new()
            } else {
                vec![Payload::Delete(Delete {
                    protocol: ProtocolId::ESP,
                    spis: ours,
                })]
            };
            self.send_response(ExchangeType::INFORMATIONAL, id, answer);
        }
    }

    /// The IKE SA is deleted: its children go with it. An SA replaced by a
    /// rekey reports nothing (its successor carries on).
    fn close_deleted(&mut self) {
        for c in std::mem::take(&mut self.children) {
            self.events
                .push_back(Event::ChildSaDeleted { spi_in: c.spi_in });
        }
        if !self.superseded {
            self.events.push_back(Event::IkeSaClosed);
        }
        self.close();
    }

    pub(super) fn process_informational_response(&mut self, raw: &[u8], msg: Message) {
        if self.open_inner(raw, &msg).is_none_or(|r| r.is_err()) {
            self.stats.integrity_failures += 1;
            return;
        }
        let purpose = self.pending.take().map(|p| p.purpose).unwrap_or_default();
        self.request_answered();
        match purpose {
            // Our deleted children were forgotten when the delete was queued.
            Purpose::DeleteChildren => {}
            Purpose::DeleteIke => self.close_deleted(),
            _ => {}
        }
    }
}
