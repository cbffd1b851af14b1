//! The udp-echo / udp-jitter datagram, ours (Cisco's IP SLA control and
//! probe formats are proprietary): a fixed header, then padding to the
//! configured size. The sender fills its transmit timestamp; the
//! responder copies the datagram back with the reply flag, its receive and
//! transmit timestamps and how many probes of this sender's operation it
//! has received (so loss splits into the two directions). Timestamps are
//! nanoseconds of the stamping host's clock (wall clock for one-way delay,
//! which then needs synchronised clocks; any clock for RTT and jitter).
//!
//! ```text
//!  0       4    5     6        8            12
//!  | magic | ver | flags | op id | sequence  |
//! 12                    20                   28                   36      40
//!  | sender tx ns (u64) | responder rx ns    | responder tx ns    | count |
//! ```
//!
//! [`ProbeView`] is the zero-copy view over received bytes; [`Probe`] the
//! parsed representation with [`Probe::parse`] and [`Probe::emit`].

/// The first four bytes of every probe.
pub const MAGIC: [u8; 4] = *b"CGWS";
/// The format's version.
pub const VERSION: u8 = 1;
/// The header's length; the smallest probe.
pub const HEADER_LEN: usize = 40;
/// Flag: this is the responder's reply.
pub const FLAG_REPLY: u8 = 0x01;

/// Why bytes are not a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than the header.
    #[error("{0} bytes, shorter than the {HEADER_LEN}-byte probe header")]
    Short(usize),
    /// Not our magic.
    #[error("not a cgw-sim probe (magic {0:02x?})")]
    Magic([u8; 4]),
    /// A version we do not speak.
    #[error("probe version {0}, expected {VERSION}")]
    Version(u8),
}

/// A zero-copy view of a probe in received bytes.
#[derive(Debug, Clone, Copy)]
pub struct ProbeView<'a> {
    b: &'a [u8],
}

impl<'a> ProbeView<'a> {
    /// Checks length, magic and version.
    pub fn new(b: &'a [u8]) -> Result<ProbeView<'a>, WireError> {
        if b.len() < HEADER_LEN {
            return Err(WireError::Short(b.len()));
        }
        let magic = [b[0], b[1], b[2], b[3]];
        if magic != MAGIC {
            return Err(WireError::Magic(magic));
        }
        if b[4] != VERSION {
            return Err(WireError::Version(b[4]));
        }
        Ok(ProbeView { b })
    }

    fn u16_at(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.b[i], self.b[i + 1]])
    }

    fn u32_at(&self, i: usize) -> u32 {
        u32::from_be_bytes(self.b[i..i + 4].try_into().unwrap_or([0; 4]))
    }

    fn u64_at(&self, i: usize) -> u64 {
        u64::from_be_bytes(self.b[i..i + 8].try_into().unwrap_or([0; 8]))
    }

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        self.b[5]
    }

    /// The operation id.
    pub fn op(&self) -> u16 {
        self.u16_at(6)
    }

    /// The sequence number.
    pub fn seq(&self) -> u32 {
        self.u32_at(8)
    }

    /// The sender's transmit timestamp, ns.
    pub fn sender_tx_ns(&self) -> u64 {
        self.u64_at(12)
    }

    /// The responder's receive timestamp, ns.
    pub fn responder_rx_ns(&self) -> u64 {
        self.u64_at(20)
    }

    /// The responder's transmit timestamp, ns.
    pub fn responder_tx_ns(&self) -> u64 {
        self.u64_at(28)
    }

    /// Probes of this operation the responder has received.
    pub fn responder_count(&self) -> u32 {
        self.u32_at(36)
    }

    /// The whole datagram's length.
    pub fn len(&self) -> usize {
        self.b.len()
    }

    /// Never: a view holds at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A probe, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Reply (from the responder) or request.
    pub reply: bool,
    /// The operation id (the sender's).
    pub op: u16,
    /// The sequence number.
    pub seq: u32,
    /// The sender's transmit timestamp, ns.
    pub sender_tx_ns: u64,
    /// The responder's receive timestamp, ns (0 in a request).
    pub responder_rx_ns: u64,
    /// The responder's transmit timestamp, ns (0 in a request).
    pub responder_tx_ns: u64,
    /// Probes of this operation the responder received (0 in a request).
    pub responder_count: u32,
    /// The datagram's length, header included (at least [`HEADER_LEN`]).
    pub len: usize,
}

impl Probe {
    /// A request of `len` bytes.
    pub fn request(op: u16, seq: u32, sender_tx_ns: u64, len: usize) -> Probe {
        Probe {
            reply: false,
            op,
            seq,
            sender_tx_ns,
            responder_rx_ns: 0,
            responder_tx_ns: 0,
            responder_count: 0,
            len: len.max(HEADER_LEN),
        }
    }

    /// Parses a datagram.
    pub fn parse(b: &[u8]) -> Result<Probe, WireError> {
        let v = ProbeView::new(b)?;
        Ok(Probe {
            reply: v.flags() & FLAG_REPLY != 0,
            op: v.op(),
            seq: v.seq(),
            sender_tx_ns: v.sender_tx_ns(),
            responder_rx_ns: v.responder_rx_ns(),
            responder_tx_ns: v.responder_tx_ns(),
            responder_count: v.responder_count(),
            len: v.len(),
        })
    }

    /// The datagram: the header, then zero padding to `len`.
    pub fn emit(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.len);
        b.extend_from_slice(&MAGIC);
        b.push(VERSION);
        b.push(if self.reply { FLAG_REPLY } else { 0 });
        b.extend_from_slice(&self.op.to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.sender_tx_ns.to_be_bytes());
        b.extend_from_slice(&self.responder_rx_ns.to_be_bytes());
        b.extend_from_slice(&self.responder_tx_ns.to_be_bytes());
        b.extend_from_slice(&self.responder_count.to_be_bytes());
        b.resize(self.len.max(HEADER_LEN), 0);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_errors() {
        let p = Probe {
            reply: true,
            op: 7,
            seq: 0x0102_0304,
            sender_tx_ns: 1,
            responder_rx_ns: 2,
            responder_tx_ns: 3,
            responder_count: 9,
            len: 64,
        };
        let b = p.emit();
        assert_eq!(b.len(), 64);
        assert_eq!(Probe::parse(&b), Ok(p));
        assert_eq!(Probe::parse(&b[..39]), Err(WireError::Short(39)));
        let mut m = b.clone();
        m[0] = b'X';
        assert!(matches!(Probe::parse(&m), Err(WireError::Magic(_))));
        m = b;
        m[4] = 9;
        assert_eq!(Probe::parse(&m), Err(WireError::Version(9)));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(b in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Probe::parse(&b);
        }
    }
}
