//! Our OPEN, and the checks on the peer's (RFC 4271 6.2, RFC 5492,
//! RFC 6286, RFC 6793).

use std::time::Duration;

use super::code;
use super::config::{Family, SessionConfig};
use super::event::Negotiated;
use crate::route::AS_TRANS;
use crate::wire::{Capability, Notification, Open};

/// OPEN 2/1: Unsupported Version Number.
const UNSUPPORTED_VERSION: u8 = 1;
/// OPEN 2/2: Bad Peer AS.
const BAD_PEER_AS: u8 = 2;
/// OPEN 2/3: Bad BGP Identifier.
const BAD_BGP_ID: u8 = 3;
/// OPEN 2/6: Unacceptable Hold Time.
const UNACCEPTABLE_HOLD_TIME: u8 = 6;
/// OPEN 2/7: Unsupported Capability.
const UNSUPPORTED_CAPABILITY: u8 = 7;

/// The BGP version we speak.
const VERSION: u8 = 4;

/// Our OPEN: version 4, our AS and hold time, a Multiprotocol capability
/// per family, route refresh, and 4-octet AS when configured.
pub(super) fn build(config: &SessionConfig) -> Open {
    let mut capabilities: Vec<Capability> = config
        .family_list()
        .into_iter()
        .map(|f| {
            let (afi, safi) = f.afi_safi();
            Capability::Multiprotocol { afi, safi }
        })
        .collect();
    capabilities.push(Capability::RouteRefresh);
    if config.four_octet_as {
        capabilities.push(Capability::FourOctetAs(config.local_as));
    }
    Open {
        version: VERSION,
        asn: config.local_as,
        hold_time: config.hold_time,
        bgp_id: config.bgp_id,
        capabilities,
    }
}

fn open_error(subcode: u8, data: Vec<u8>) -> Notification {
    Notification {
        code: code::OPEN,
        subcode,
        data,
    }
}

/// Checks the peer's OPEN against our configuration; the agreement, or the
/// NOTIFICATION to send.
pub(super) fn negotiate(config: &SessionConfig, open: Open) -> Result<Negotiated, Notification> {
    if open.version != VERSION {
        // The data is the largest version we support (2 octets).
        return Err(open_error(
            UNSUPPORTED_VERSION,
            u16::from(VERSION).to_be_bytes().to_vec(),
        ));
    }
    let peer_four_octet = open
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::FourOctetAs(_)));
    let four_octet_as = config.four_octet_as && peer_four_octet;
    // Without 4-octet AS numbers on our side we only see the 2-octet field,
    // which holds AS_TRANS for a 4-octet AS.
    let peer_as = if !config.four_octet_as && open.asn > u32::from(u16::MAX) {
        AS_TRANS
    } else {
        open.asn
    };
    if peer_as != config.peer_as {
        return Err(open_error(BAD_PEER_AS, Vec::new()));
    }
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(open_error(UNACCEPTABLE_HOLD_TIME, Vec::new()));
    }
    // RFC 6286: non-zero; equal to ours only across ASes.
    if open.bgp_id.is_unspecified()
        || (open.bgp_id == config.bgp_id && config.local_as == config.peer_as)
    {
        return Err(open_error(BAD_BGP_ID, Vec::new()));
    }
    let mut peer_families: Vec<Family> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol { afi, safi } => Family::from_afi_safi(*afi, *safi),
            _ => None,
        })
        .collect();
    let peer_sent_mp = open
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::Multiprotocol { .. }));
    if !peer_sent_mp {
        // RFC 4760: without the capability, IPv4 unicast only.
        peer_families.push(Family::Ipv4Unicast);
    }
    let ours = config.family_list();
    let families: Vec<Family> = ours
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    if families.is_empty() {
        // RFC 5492: name the capabilities we need.
        let mut data = Vec::new();
        for f in ours {
            let (afi, safi) = f.afi_safi();
            data.extend_from_slice(&[1, 4]);
            data.extend_from_slice(&afi.to_be_bytes());
            data.extend_from_slice(&[0, safi]);
        }
        return Err(open_error(UNSUPPORTED_CAPABILITY, data));
    }
    let hold_time = config.hold_time.min(open.hold_time);
    let keepalive = (hold_time != 0).then(|| {
        let third = Duration::from_secs(hold_time.into()) / 3;
        config.keepalive.map_or(third, |k| k.min(third))
    });
    let route_refresh = open
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::RouteRefresh));
    Ok(Negotiated {
        peer_as,
        peer_id: open.bgp_id,
        hold_time,
        keepalive,
        four_octet_as,
        route_refresh,
        families,
        peer_open: open,
    })
}
