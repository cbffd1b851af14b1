//! OPEN (RFC 4271 4.2) with capabilities (RFC 5492), extended optional
//! parameters length (RFC 9072) and its errors (RFC 4271 6.2, RFC 6793,
//! RFC 7607).

use std::net::Ipv4Addr;

use super::notification::codes::*;
use super::{
    Capability, Context, MessageError, Notification, Open, AFI_IPV4, AFI_IPV6, SAFI_UNICAST,
};
use crate::route::AS_TRANS;

/// The only BGP version.
pub const BGP_VERSION: u8 = 4;
/// Optional parameter type: capabilities (RFC 5492).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Capability code: multiprotocol extensions (RFC 4760).
pub const CAP_MULTIPROTOCOL: u8 = 1;
/// Capability code: route refresh (RFC 2918).
pub const CAP_ROUTE_REFRESH: u8 = 2;
/// Capability code: 4-octet AS numbers (RFC 6793).
pub const CAP_FOUR_OCTET_AS: u8 = 65;

fn open_error(subcode: u8, data: Vec<u8>, reason: impl Into<String>) -> MessageError {
    MessageError::new(Notification::new(OPEN, subcode, data), reason)
}

fn malformed(reason: &str) -> MessageError {
    open_error(UNSPECIFIC, Vec::new(), format!("malformed OPEN: {reason}"))
}

/// Appends one capability (code, length, value). Values longer than 255
/// octets are cut.
pub(crate) fn emit_capability(c: &Capability, out: &mut Vec<u8>) {
    match c {
        Capability::Multiprotocol { afi, safi } => {
            out.extend_from_slice(&[CAP_MULTIPROTOCOL, 4]);
            out.extend_from_slice(&afi.to_be_bytes());
            out.extend_from_slice(&[0, *safi]);
        }
        Capability::RouteRefresh => out.extend_from_slice(&[CAP_ROUTE_REFRESH, 0]),
        Capability::FourOctetAs(asn) => {
            out.extend_from_slice(&[CAP_FOUR_OCTET_AS, 4]);
            out.extend_from_slice(&asn.to_be_bytes());
        }
        Capability::Unknown(code, value) => {
            let v = &value[..value.len().min(255)];
            out.extend_from_slice(&[*code, v.len() as u8]);
            out.extend_from_slice(v);
        }
    }
}

/// Parses one capability value. Known codes with a malformed value are
/// kept as [`Capability::Unknown`] and so ignored (RFC 5492 leaves this to
/// the capability; none of ours justifies a reset).
fn parse_capability(code: u8, value: &[u8]) -> Capability {
    match (code, value) {
        (CAP_MULTIPROTOCOL, &[a0, a1, _, safi]) => Capability::Multiprotocol {
            afi: u16::from_be_bytes([a0, a1]),
            safi,
        },
        (CAP_ROUTE_REFRESH, []) => Capability::RouteRefresh,
        (CAP_FOUR_OCTET_AS, &[a, b, c, d]) => {
            Capability::FourOctetAs(u32::from_be_bytes([a, b, c, d]))
        }
        _ => Capability::Unknown(code, value.to_vec()),
    }
}

fn parse_capabilities(mut v: &[u8], caps: &mut Vec<Capability>) -> Result<(), MessageError> {
    while let Some((&code, rest)) = v.split_first() {
        let Some((&len, rest)) = rest.split_first() else {
            return Err(malformed("capability without a length"));
        };
        let Some(value) = rest.get(..usize::from(len)) else {
            return Err(malformed("capability runs past its parameter"));
        };
        caps.push(parse_capability(code, value));
        v = &rest[usize::from(len)..];
    }
    Ok(())
}

impl Open {
    /// An OPEN as we send it: multiprotocol IPv4 unicast (and IPv6 unicast
    /// when `ipv6`), route refresh, and 4-octet AS with `asn`.
    pub fn standard(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, ipv6: bool) -> Open {
        let mut capabilities = vec![Capability::Multiprotocol {
            afi: AFI_IPV4,
            safi: SAFI_UNICAST,
        }];
        if ipv6 {
            capabilities.push(Capability::Multiprotocol {
                afi: AFI_IPV6,
                safi: SAFI_UNICAST,
            });
        }
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::FourOctetAs(asn));
        Open {
            version: BGP_VERSION,
            asn,
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// The AS of the 4-octet AS capability, if the sender has it.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
    }

    /// Whether the sender offers route refresh.
    pub fn route_refresh(&self) -> bool {
        self.capabilities.contains(&Capability::RouteRefresh)
    }

    /// The (AFI, SAFI) the sender offers; IPv4 unicast when it sends no
    /// multiprotocol capability at all (RFC 4760 8).
    pub fn families(&self) -> Vec<(u16, u8)> {
        let mp: Vec<(u16, u8)> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { afi, safi } => Some((*afi, *safi)),
                _ => None,
            })
            .collect();
        if mp.is_empty() {
            vec![(AFI_IPV4, SAFI_UNICAST)]
        } else {
            mp
        }
    }

    /// Checks the sender's AS against the one configured for the peer:
    /// OPEN / Bad Peer AS (2/2) with the AS as data if it differs.
    pub fn check_peer_as(&self, expected: u32) -> Result<(), MessageError> {
        if self.asn == expected {
            Ok(())
        } else {
            Err(MessageError::new(
                Notification::bad_peer_as(self.asn),
                format!("peer AS {} is not the configured {expected}", self.asn),
            ))
        }
    }

    /// Parses the body (after the header); the message is at least 29
    /// octets, so the body at least 10.
    pub(crate) fn parse_body(b: &[u8]) -> Result<Open, MessageError> {
        let Some((fixed, rest)) = b.split_first_chunk::<10>() else {
            return Err(malformed("shorter than 29 octets"));
        };
        let version = fixed[0];
        if version != BGP_VERSION {
            return Err(open_error(
                UNSUPPORTED_VERSION,
                u16::from(BGP_VERSION).to_be_bytes().to_vec(),
                format!("unsupported BGP version {version}"),
            ));
        }
        let as2 = u16::from_be_bytes([fixed[1], fixed[2]]);
        let hold_time = u16::from_be_bytes([fixed[3], fixed[4]]);
        let bgp_id = Ipv4Addr::new(fixed[5], fixed[6], fixed[7], fixed[8]);
        let opt_len = fixed[9];

        // RFC 9072: a first parameter of type 255 after a length of 255
        // announces a 2-octet length and 2-octet parameter lengths.
        let (params, extended) = if opt_len == 255 && rest.first() == Some(&255) {
            let Some(&[_, l0, l1]) = rest.get(..3) else {
                return Err(malformed("truncated extended parameters length"));
            };
            (&rest[3..], Some(usize::from(u16::from_be_bytes([l0, l1]))))
        } else {
            (rest, None)
        };
        let want = extended.unwrap_or(usize::from(opt_len));
        if params.len() != want {
            return Err(malformed(&format!(
                "optional parameters length {want} but {} octets follow",
                params.len()
            )));
        }
        let mut capabilities = Vec::new();
        let mut p = params;
        while let Some((&ptype, r)) = p.split_first() {
            let (len, r) = match extended {
                Some(_) => match r.split_first_chunk::<2>() {
                    Some((l, r)) => (usize::from(u16::from_be_bytes(*l)), r),
                    None => return Err(malformed("truncated parameter length")),
                },
                None => match r.split_first() {
                    Some((&l, r)) => (usize::from(l), r),
                    None => return Err(malformed("truncated parameter length")),
                },
            };
            let Some(value) = r.get(..len) else {
                return Err(malformed("parameter runs past the parameters"));
            };
            if ptype != PARAM_CAPABILITIES {
                return Err(open_error(
                    UNSUPPORTED_OPTIONAL_PARAMETER,
                    Vec::new(),
                    format!("unsupported optional parameter type {ptype}"),
                ));
            }
            parse_capabilities(value, &mut capabilities)?;
            p = &r[len..];
        }

        let cap_as = capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        });
        // RFC 7607: AS 0 is a Bad Peer AS; RFC 6793: AS_TRANS is never a
        // speaker's own 4-octet AS.
        if as2 == 0 {
            return Err(open_error(
                BAD_PEER_AS,
                as2.to_be_bytes().to_vec(),
                "peer AS 0",
            ));
        }
        let asn = match cap_as {
            Some(0) | Some(AS_TRANS) => {
                let a = cap_as.unwrap_or(0);
                return Err(MessageError::new(
                    Notification::bad_peer_as(a),
                    format!("4-octet AS capability carries AS {a}"),
                ));
            }
            Some(a) => a,
            None => u32::from(as2),
        };
        if hold_time == 1 || hold_time == 2 {
            return Err(MessageError::new(
                Notification::unacceptable_hold_time(hold_time),
                format!("hold time {hold_time} s (must be 0 or at least 3)"),
            ));
        }
        // RFC 6286: any non-zero identifier is valid.
        if bgp_id.is_unspecified() {
            return Err(open_error(
                BAD_BGP_IDENTIFIER,
                bgp_id.octets().to_vec(),
                "BGP identifier 0.0.0.0",
            ));
        }
        Ok(Open {
            version,
            asn,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    /// Appends the body. The 2-octet AS field carries AS_TRANS when the AS
    /// does not fit. Capabilities share one optional parameter while they
    /// fit in 255 octets; past 255 octets of parameters the RFC 9072 form
    /// is used.
    pub(crate) fn emit_body(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        let as2 = u16::try_from(self.asn).unwrap_or(AS_TRANS as u16);
        out.extend_from_slice(&as2.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());

        // Group capabilities into parameters of at most 255 octets.
        let mut groups: Vec<Vec<u8>> = Vec::new();
        for c in &self.capabilities {
            let mut one = Vec::new();
            emit_capability(c, &mut one);
            match groups.last_mut() {
                Some(g) if g.len() + one.len() <= 255 => g.extend_from_slice(&one),
                _ => groups.push(one),
            }
        }
        let short: usize = groups.iter().map(|g| 2 + g.len()).sum();
        if short <= 255 && groups.iter().all(|g| g.len() <= 255) {
            out.push(short as u8);
            for g in &groups {
                out.extend_from_slice(&[PARAM_CAPABILITIES, g.len() as u8]);
                out.extend_from_slice(g);
            }
        } else {
            let long: usize = groups.iter().map(|g| 3 + g.len()).sum();
            out.extend_from_slice(&[255, 255]);
            out.extend_from_slice(&(long.min(usize::from(u16::MAX)) as u16).to_be_bytes());
            for g in &groups {
                out.push(PARAM_CAPABILITIES);
                out.extend_from_slice(&(g.len() as u16).to_be_bytes());
                out.extend_from_slice(g);
            }
        }
    }
}

impl Context {
    /// The context two OPENs negotiate: 4-octet AS when both have the
    /// capability, the families both offer (RFC 4760), `ibgp` when both
    /// ASes are the same.
    pub fn negotiated(local: &Open, remote: &Open) -> Context {
        let ours = local.families();
        let theirs = remote.families();
        let both = |f: (u16, u8)| ours.contains(&f) && theirs.contains(&f);
        Context {
            four_octet_as: local.four_octet_as().is_some() && remote.four_octet_as().is_some(),
            ipv4_unicast: both((AFI_IPV4, SAFI_UNICAST)),
            ipv6_unicast: both((AFI_IPV6, SAFI_UNICAST)),
            ibgp: local.asn == remote.asn,
        }
    }
}
