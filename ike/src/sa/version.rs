//! Messages of another IKE major version (RFC 7296 1.5 and 2.5).
//!
//! An IKEv2-only responder that receives an IKEv1 Main Mode or Aggressive
//! Mode first message (major version 1), or an initial request of a major
//! version above 2, drops it and answers with an unauthenticated
//! INVALID_MAJOR_VERSION notification in an IKEv2 header: the SPIs and the
//! message ID are copied from the request, the response flag is set, and
//! the header's version 2.0 tells the peer the closest version we speak
//! (RFC 7296 3.10.1; strongSwan's charon answers IKEv1 the same way when
//! IKEv1 is disabled). Only first messages (responder SPI zero) are
//! answered, and only by an endpoint that responds at all; the answer (36
//! bytes) is never larger than the request, so it cannot amplify a flood.

use std::net::SocketAddr;

use super::cookie::stateless_notify;
use super::ike_sa::Transmit;
use crate::ikev1;
use crate::wire::{ExchangeType, HeaderView, NotifyType};

/// The answer to a message whose header says major version `!= 2`, if one
/// is due: `None` means drop silently.
pub(super) fn answer_other_version(
    local: SocketAddr,
    remote: SocketAddr,
    h: &HeaderView<&[u8]>,
    natt: bool,
) -> Option<Transmit> {
    if h.spi_r() != 0 {
        return None;
    }
    let exchange = match h.major_version() {
        // IKEv1 has no response flag; its first messages open Main Mode
        // or Aggressive Mode. charon answers in an INFORMATIONAL.
        ikev1::MAJOR_VERSION
            if matches!(
                h.exchange().0,
                ikev1::EXCHANGE_IDENTITY_PROTECTION | ikev1::EXCHANGE_AGGRESSIVE
            ) =>
        {
            ExchangeType::INFORMATIONAL
        }
        // A later version that kept IKEv2's header: an initial request.
        v if v > 2 && h.exchange() == ExchangeType::IKE_SA_INIT && !h.flags().response => {
            ExchangeType::IKE_SA_INIT
        }
        _ => return None,
    };
    Some(stateless_notify(
        local,
        remote,
        (h.spi_i(), exchange, h.message_id()),
        NotifyType::INVALID_MAJOR_VERSION,
        Vec::new(),
        natt,
    ))
}
