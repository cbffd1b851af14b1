//! Finding payloads in a chain: every exchange asks "the SA payload", "the
//! nonce", "the first error notify" of what it received.

use crate::wire::{KeyExchange, Notify, NotifyType, Payload, SaPayload, TrafficSelector};

/// Lookups on a received payload chain.
pub(super) trait Lookup {
    /// The first SA payload.
    fn sa(&self) -> Option<&SaPayload>;
    /// The first KE payload.
    fn ke(&self) -> Option<&KeyExchange>;
    /// The first Nonce's bytes.
    fn nonce(&self) -> Option<&[u8]>;
    /// The TSi selectors.
    fn tsi(&self) -> Option<&[TrafficSelector]>;
    /// The TSr selectors.
    fn tsr(&self) -> Option<&[TrafficSelector]>;
    /// The first notify of `kind`.
    fn notify(&self, kind: NotifyType) -> Option<&Notify>;
    /// The first error notify (type below 16384).
    fn error_notify(&self) -> Option<&Notify>;
}

impl Lookup for [Payload] {
    fn sa(&self) -> Option<&SaPayload> {
        self.iter().find_map(|p| {
            if let Payload::Sa(s) = p {
                Some(s)
            } else {
                None
            }
        })
    }
    fn ke(&self) -> Option<&KeyExchange> {
        self.iter().find_map(|p| {
            if let Payload::Ke(k) = p {
                Some(k)
            } else {
                None
            }
        })
    }
    fn nonce(&self) -> Option<&[u8]> {
        self.iter().find_map(|p| {
            if let Payload::Nonce(n) = p {
                Some(n.0.as_slice())
            } else {
                None
            }
        })
    }
    fn tsi(&self) -> Option<&[TrafficSelector]> {
        self.iter().find_map(|p| {
            if let Payload::TsI(t) = p {
                Some(t.0.as_slice())
            } else {
                None
            }
        })
    }
    fn tsr(&self) -> Option<&[TrafficSelector]> {
        self.iter().find_map(|p| {
            if let Payload::TsR(t) = p {
                Some(t.0.as_slice())
            } else {
                None
            }
        })
    }
    fn notify(&self, kind: NotifyType) -> Option<&Notify> {
        self.iter().find_map(|p| match p {
            Payload::Notify(n) if n.kind == kind => Some(n),
            _ => None,
        })
    }
    fn error_notify(&self) -> Option<&Notify> {
        self.iter().find_map(|p| match p {
            Payload::Notify(n) if n.kind.is_error() => Some(n),
            _ => None,
        })
    }
}
