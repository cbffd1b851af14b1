//! Classic pcap files (LINKTYPE_RAW, raw IPv4) with virtual timestamps.

use std::time::Duration;

/// LINKTYPE_IPV4 (228): every record is a raw IPv4 packet.
pub const LINKTYPE_IPV4: u32 = 228;

/// A classic pcap file being written in memory, microsecond timestamps.
#[derive(Debug, Clone)]
pub struct PcapWriter {
    bytes: Vec<u8>,
    snaplen: u32,
    packets: u64,
}

impl Default for PcapWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl PcapWriter {
    /// A new file holding just the global header (snaplen 65535).
    pub fn new() -> Self {
        let snaplen = 65_535u32;
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&snaplen.to_le_bytes());
        bytes.extend_from_slice(&LINKTYPE_IPV4.to_le_bytes());
        PcapWriter {
            bytes,
            snaplen,
            packets: 0,
        }
    }

    /// Appends one packet seen at `ts` (time since the simulation's epoch,
    /// which is written as the Unix epoch).
    pub fn record(&mut self, ts: Duration, packet: &[u8]) {
        let caplen = packet.len().min(self.snaplen as usize);
        let secs = u32::try_from(ts.as_secs()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&secs.to_le_bytes());
        self.bytes
            .extend_from_slice(&ts.subsec_micros().to_le_bytes());
        self.bytes.extend_from_slice(&(caplen as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(packet.len().min(u32::MAX as usize) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&packet[..caplen]);
        self.packets += 1;
    }

    /// The file's bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Packets recorded.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Writes the file to `path`.
    pub fn write_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, &self.bytes)
    }
}
