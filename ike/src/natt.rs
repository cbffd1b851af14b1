//! NAT traversal (RFC 7296 2.23, RFC 3948): NAT detection hashes and the
//! framing of UDP port 4500, where IKE (behind a 4-byte non-ESP marker),
//! ESP and NAT keepalives share one port.

use std::net::{IpAddr, SocketAddr};

use aws_lc_rs::digest;

/// The 4 zero bytes that precede an IKE message on port 4500.
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

/// The NAT_DETECTION_*_IP notification data: SHA-1(SPIi | SPIr | IP | port).
pub fn nat_detection_hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> [u8; 20] {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&spi_i.to_be_bytes());
    ctx.update(&spi_r.to_be_bytes());
    match addr.ip() {
        IpAddr::V4(a) => ctx.update(&a.octets()),
        IpAddr::V6(a) => ctx.update(&a.octets()),
    }
    ctx.update(&addr.port().to_be_bytes());
    let d = ctx.finish();
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// What a UDP datagram on the NAT-T port carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Udp4500<'a> {
    /// An IKE message (the marker removed).
    Ike(&'a [u8]),
    /// An ESP packet (starting with its non-zero SPI).
    Esp(&'a [u8]),
    /// A NAT keepalive (the single byte 0xFF).
    Keepalive,
    /// Too short to be anything.
    Invalid,
}

/// Classifies a datagram received on the NAT-T port (RFC 3948 2.2).
pub fn classify_udp4500(datagram: &[u8]) -> Udp4500<'_> {
    match datagram {
        [0xff] => Udp4500::Keepalive,
        [0, 0, 0, 0, rest @ ..] => Udp4500::Ike(rest),
        d if d.len() >= 8 => Udp4500::Esp(d),
        _ => Udp4500::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify() {
        assert_eq!(classify_udp4500(&[0xff]), Udp4500::Keepalive);
        assert_eq!(classify_udp4500(&[0, 0, 0, 0, 1, 2]), Udp4500::Ike(&[1, 2]));
        assert_eq!(
            classify_udp4500(&[0, 0, 1, 0, 0, 0, 0, 1]),
            Udp4500::Esp(&[0, 0, 1, 0, 0, 0, 0, 1])
        );
        assert_eq!(classify_udp4500(&[1, 2, 3]), Udp4500::Invalid);
        assert_eq!(classify_udp4500(&[]), Udp4500::Invalid);
    }

    #[test]
    fn detection_hash_depends_on_every_input() {
        let a: SocketAddr = "192.0.2.10:500".parse().unwrap();
        let h = nat_detection_hash(1, 0, a);
        assert_ne!(h, nat_detection_hash(2, 0, a));
        assert_ne!(h, nat_detection_hash(1, 1, a));
        assert_ne!(
            h,
            nat_detection_hash(1, 0, "192.0.2.11:500".parse().unwrap())
        );
        assert_ne!(
            h,
            nat_detection_hash(1, 0, "192.0.2.10:4500".parse().unwrap())
        );
        // Independently: python3 -c "import hashlib;print(hashlib.sha1(bytes.fromhex(
        //   '0000000000000001' '0000000000000000' 'c000020a' '01f4')).hexdigest())"
        assert_eq!(hex::encode(h), "18bf776ad1cafc12e86d93f92223652deea4e834");
    }
}
