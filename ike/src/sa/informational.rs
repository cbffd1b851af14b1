//! INFORMATIONAL exchanges (RFC 7296 1.4): liveness checks and deletes
//! from the peer. Our own DPD and deletes come with the lifecycle work.

use super::event::Event;
use super::ike_sa::IkeSa;
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
        let mut answer = Vec::new();
        let mut close = false;
        for p in &inner {
            let Payload::Delete(d) = p else { continue };
            match d.protocol {
                ProtocolId::IKE => close = true,
                ProtocolId::ESP => {
                    let Some(child) = self.child else { continue };
                    if d.spis.contains(&child.spi_out) {
                        // Answer with the inbound SPI of the same pair.
                        answer.push(Payload::Delete(Delete {
                            protocol: ProtocolId::ESP,
                            spis: vec![child.spi_in],
                        }));
                        self.child = None;
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
            self.events.push_back(Event::IkeSaClosed);
            self.close();
        } else {
            self.send_response(ExchangeType::INFORMATIONAL, id, answer);
        }
    }

    pub(super) fn process_informational_response(&mut self, raw: &[u8], msg: Message) {
        if self.open_inner(raw, &msg).is_some_and(|r| r.is_ok()) {
            self.request_answered();
        } else {
            self.stats.integrity_failures += 1;
        }
    }
}
