//! The responder (`cgw-sim sla --responder`): reflects each probe with the
//! reply flag, its receive and transmit timestamps and how many probes of
//! that sender's operation it has received. Sans-IO: the caller passes the
//! datagram, where it came from and the two timestamps, and sends back
//! what [`Responder::handle`] returns.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::wire::{Probe, WireError};

/// The most senders' operations the responder counts at once; beyond it
/// the counts start again (a bound on memory against a flood of sources).
pub const MAX_FLOWS: usize = 4096;

/// The responder. See the module documentation.
#[derive(Debug, Default)]
pub struct Responder {
    counts: HashMap<(IpAddr, u16), u32>,
    /// Probes answered.
    pub answered: u64,
    /// Datagrams refused (not a probe, or a reply).
    pub refused: u64,
}

impl Responder {
    /// A responder with no counts.
    pub fn new() -> Responder {
        Responder::default()
    }

    /// The reply to `datagram` from `from`, received at `rx_ns` and to be
    /// sent at `tx_ns` (the responder's clock). Replies are refused too,
    /// so two responders cannot ping-pong.
    pub fn handle(
        &mut self,
        from: IpAddr,
        datagram: &[u8],
        rx_ns: u64,
        tx_ns: u64,
    ) -> Result<Vec<u8>, ResponderError> {
        let p = Probe::parse(datagram).map_err(|e| {
            self.refused += 1;
            ResponderError::Wire(e)
        })?;
        if p.reply {
            self.refused += 1;
            return Err(ResponderError::Reply);
        }
        if self.counts.len() >= MAX_FLOWS && !self.counts.contains_key(&(from, p.op)) {
            self.counts.clear();
        }
        let n = self.counts.entry((from, p.op)).or_insert(0);
        *n = n.wrapping_add(1);
        self.answered += 1;
        Ok(Probe {
            reply: true,
            responder_rx_ns: rx_ns,
            responder_tx_ns: tx_ns,
            responder_count: *n,
            ..p
        }
        .emit())
    }
}

/// Why the responder did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponderError {
    /// Not a probe.
    #[error("not a probe: {0}")]
    Wire(#[from] WireError),
    /// A reply, not a request.
    #[error("a reply, not a request: not answered")]
    Reply,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflects_with_stamps_and_counts_per_flow() {
        let mut r = Responder::new();
        let a: IpAddr = "198.18.0.10".parse().unwrap();
        let b: IpAddr = "198.18.0.11".parse().unwrap();
        let req = Probe::request(3, 10, 1_000, 60).emit();
        let rep = Probe::parse(&r.handle(a, &req, 2_000, 2_050).unwrap()).unwrap();
        assert!(rep.reply);
        assert_eq!(
            (rep.seq, rep.sender_tx_ns, rep.responder_rx_ns),
            (10, 1_000, 2_000)
        );
        assert_eq!(
            (rep.responder_tx_ns, rep.responder_count, rep.len),
            (2_050, 1, 60)
        );
        let again = Probe::parse(&r.handle(a, &req, 3_000, 3_001).unwrap()).unwrap();
        assert_eq!(again.responder_count, 2);
        let other = Probe::parse(&r.handle(b, &req, 3_000, 3_001).unwrap()).unwrap();
        assert_eq!(other.responder_count, 1);
        // A reply is not answered; garbage is refused.
        let rep_bytes = r.handle(a, &req, 0, 0).unwrap();
        assert_eq!(r.handle(a, &rep_bytes, 0, 0), Err(ResponderError::Reply));
        assert!(matches!(
            r.handle(a, b"hello", 0, 0),
            Err(ResponderError::Wire(_))
        ));
        assert_eq!((r.answered, r.refused), (4, 2));
    }
}
