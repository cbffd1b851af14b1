//! The gateway's outside interface on a host: its outgoing IPv4 packets
//! become UDP datagrams (IKE on 500, IKE and UDP-encapsulated ESP on 4500)
//! or raw ESP payloads for the sockets, and what the sockets receive
//! becomes the IPv4 packets the gateway expects. Parsing and building with
//! etherparse.

use std::net::{Ipv4Addr, SocketAddrV4};

use etherparse::{IpNumber, Ipv4Header, Ipv4Slice, PacketBuilder, UdpSlice};

/// TTL of the packets we build (what the kernel would use).
const TTL: u8 = 64;

/// What the gateway sends on its outside interface, for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing<'a> {
    /// A UDP datagram: send `payload` from `src` to `dst`.
    Udp {
        /// Our address and port (500 or 4500).
        src: SocketAddrV4,
        /// The peer's.
        dst: SocketAddrV4,
        /// The UDP payload (IKE, a NAT keepalive, or ESP behind the
        /// non-ESP marker's absence).
        payload: &'a [u8],
    },
    /// An ESP packet (IP protocol 50) for the raw socket.
    Esp {
        /// Our address.
        src: Ipv4Addr,
        /// The peer's.
        dst: Ipv4Addr,
        /// The ESP header onwards.
        payload: &'a [u8],
    },
}

/// Why an outgoing packet cannot go to a socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OuterError {
    /// Not a well-formed IPv4 packet.
    #[error("not an IPv4 packet: {0}")]
    Ipv4(String),
    /// A fragment: the gateway never fragments outer packets.
    #[error("an IPv4 fragment ({src} -> {dst})")]
    Fragment {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
    },
    /// UDP whose header does not parse.
    #[error("malformed UDP ({src} -> {dst}): {why}")]
    Udp {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
        /// What is wrong.
        why: String,
    },
    /// Neither UDP nor ESP.
    #[error("IP protocol {protocol} is neither UDP nor ESP")]
    Protocol {
        /// The protocol number.
        protocol: u8,
    },
    /// A payload too large for one IPv4 packet.
    #[error("payload of {0} bytes does not fit an IPv4 packet")]
    TooBig(usize),
}

/// Classifies a packet the gateway sent on its outside interface.
pub fn outgoing(packet: &[u8]) -> Result<Outgoing<'_>, OuterError> {
    let ip = Ipv4Slice::from_slice(packet).map_err(|e| OuterError::Ipv4(e.to_string()))?;
    let (src, dst) = (ip.header().source_addr(), ip.header().destination_addr());
    if ip.is_payload_fragmented() {
        return Err(OuterError::Fragment { src, dst });
    }
    let payload = ip.payload().payload;
    match ip.header().protocol() {
        IpNumber::UDP => {
            let udp = UdpSlice::from_slice(payload).map_err(|e| OuterError::Udp {
                src,
                dst,
                why: e.to_string(),
            })?;
            Ok(Outgoing::Udp {
                src: SocketAddrV4::new(src, udp.source_port()),
                dst: SocketAddrV4::new(dst, udp.destination_port()),
                payload: udp.payload(),
            })
        }
        IpNumber::ENCAPSULATING_SECURITY_PAYLOAD => Ok(Outgoing::Esp { src, dst, payload }),
        other => Err(OuterError::Protocol { protocol: other.0 }),
    }
}

/// The IPv4 packet for a UDP datagram a socket received from `src` on our
/// `dst`.
pub fn udp_received(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Result<Vec<u8>, OuterError> {
    let b =
        PacketBuilder::ipv4(src.ip().octets(), dst.ip().octets(), TTL).udp(src.port(), dst.port());
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload)
        .map_err(|_| OuterError::TooBig(payload.len()))?;
    Ok(out)
}

/// The IPv4 packet for an ESP packet the raw socket received from `src`
/// on our `dst` (`payload`: the ESP header onwards, the IP header
/// stripped).
pub fn esp_received(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Result<Vec<u8>, OuterError> {
    let len = u16::try_from(payload.len()).map_err(|_| OuterError::TooBig(payload.len()))?;
    let h = Ipv4Header::new(
        len,
        TTL,
        IpNumber::ENCAPSULATING_SECURITY_PAYLOAD,
        src.octets(),
        dst.octets(),
    )
    .map_err(|_| OuterError::TooBig(payload.len()))?;
    let mut out = Vec::with_capacity(h.header_len() + payload.len());
    h.write(&mut out)
        .map_err(|_| OuterError::TooBig(payload.len()))?;
    out.extend_from_slice(payload);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab::wire::{self, Ipv4Info};

    const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const AWS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

    #[test]
    fn the_gateways_udp_and_esp_packets_become_socket_sends() {
        let p = wire::build_udp((CGW, 500), (AWS, 500), b"ike message", false);
        assert_eq!(
            outgoing(&p).unwrap(),
            Outgoing::Udp {
                src: SocketAddrV4::new(CGW, 500),
                dst: SocketAddrV4::new(AWS, 500),
                payload: b"ike message",
            }
        );
        let p = wire::build_raw(CGW, AWS, 50, &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1], false);
        assert_eq!(
            outgoing(&p).unwrap(),
            Outgoing::Esp {
                src: CGW,
                dst: AWS,
                payload: &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1],
            }
        );
    }

    #[test]
    fn received_datagrams_become_packets_the_gateway_parses() {
        let p = udp_received(
            SocketAddrV4::new(AWS, 4500),
            SocketAddrV4::new(CGW, 4500),
            &[0, 0, 0, 0, 1, 2, 3],
        )
        .unwrap();
        let info = Ipv4Info::parse(&p).unwrap();
        assert_eq!((info.src, info.dst, info.protocol), (AWS, CGW, 17));
        assert_eq!(info.ports(&p), Some((4500, 4500)));
        assert_eq!(wire::udp_payload(&p), Some(&[0u8, 0, 0, 0, 1, 2, 3][..]));
        // And back: what we built classifies as what it was.
        assert!(matches!(outgoing(&p), Ok(Outgoing::Udp { payload, .. }) if payload.len() == 7));
        let e = esp_received(AWS, CGW, &[1, 2, 3, 4, 0, 0, 0, 9]).unwrap();
        let info = Ipv4Info::parse(&e).unwrap();
        assert_eq!((info.src, info.dst, info.protocol), (AWS, CGW, 50));
        assert_eq!(&e[info.header_len..], &[1, 2, 3, 4, 0, 0, 0, 9]);
    }

    #[test]
    fn garbage_fragments_and_other_protocols_are_errors_not_panics() {
        assert!(matches!(outgoing(&[]), Err(OuterError::Ipv4(_))));
        assert!(matches!(outgoing(&[0x45; 10]), Err(OuterError::Ipv4(_))));
        let icmp = wire::build_icmp_echo(CGW, AWS, false, 1, 1, b"x");
        assert_eq!(outgoing(&icmp), Err(OuterError::Protocol { protocol: 1 }));
        let mut frag = wire::build_udp((CGW, 500), (AWS, 500), &[7; 64], false);
        frag[6] |= 0x20; // more fragments
        wire::fix_ip_checksum(&mut frag);
        assert!(matches!(outgoing(&frag), Err(OuterError::Fragment { .. })));
        let mut short_udp = wire::build_raw(CGW, AWS, 17, &[0, 1, 2], false);
        wire::fix_ip_checksum(&mut short_udp);
        assert!(matches!(outgoing(&short_udp), Err(OuterError::Udp { .. })));
        assert_eq!(
            esp_received(AWS, CGW, &vec![0; 70_000]),
            Err(OuterError::TooBig(70_000))
        );
    }
}
