//! Our OPEN, and the checks on the peer's (RFC 4271 6.2, RFC 5492,
//! RFC 6286, RFC 6793).

use std::time::Duration;

use super::config::{Family, SessionConfig};
use super::event::Negotiated;
use crate::route::AS_TRANS;
use crate::wire::notification::codes::{BAD_BGP_IDENTIFIER, OPEN, UNSUPPORTED_VERSION};
use crate::wire::open::BGP_VERSION as VERSION;
use crate::wire::{Capability, Notification, Open};

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

/// Checks the peer's OPEN against our configuration; the agreement, or the
/// NOTIFICATION to send. (The codec already refuses what no configuration
/// accepts; the checks are repeated so that the session stands on its own.)
pub(super) fn negotiate(config: &SessionConfig, open: Open) -> Result<Negotiated, Notification> {
    if open.version != VERSION {
        // The data is the largest version we support (2 octets).
        return Err(Notification::new(
            OPEN,
            UNSUPPORTED_VERSION,
            u16::from(VERSION).to_be_bytes().to_vec(),
        ));
    }
    let four_octet_as = config.four_octet_as && open.four_octet_as().is_some();
    // Without 4-octet AS numbers on our side we only see the 2-octet field,
    // which holds AS_TRANS for a 4-octet AS.
    let peer_as = if !config.four_octet_as && open.asn > u32::from(u16::MAX) {
        AS_TRANS
    } else {
        open.asn
    };
    if peer_as != config.peer_as {
        return Err(Notification::bad_peer_as(open.asn));
    }
    if open.hold_time == 1 || open.hold_time == 2 {
        return Err(Notification::unacceptable_hold_time(open.hold_time));
    }
    // RFC 6286: non-zero; equal to ours only across ASes.
    if open.bgp_id.is_unspecified()
        || (open.bgp_id == config.bgp_id && config.local_as == config.peer_as)
    {
        return Err(Notification::new(
            OPEN,
            BAD_BGP_IDENTIFIER,
            open.bgp_id.octets().to_vec(),
        ));
    }
    // Without any Multiprotocol capability: IPv4 unicast (RFC 4760).
    let peer_families: Vec<Family> = open
        .families()
        .into_iter()
        .filter_map(|(afi, safi)| Family::from_afi_safi(afi, safi))
        .collect();
    let ours = config.family_list();
    let families: Vec<Family> = ours
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    if families.is_empty() {
        // RFC 5492: name the capabilities we need.
        let need: Vec<Capability> = ours
            .iter()
            .map(|f| {
                let (afi, safi) = f.afi_safi();
                Capability::Multiprotocol { afi, safi }
            })
            .collect();
        return Err(Notification::unsupported_capability(&need));
    }
    let hold_time = config.hold_time.min(open.hold_time);
    let keepalive = (hold_time != 0).then(|| {
        let third = Duration::from_secs(hold_time.into()) / 3;
        config.keepalive.map_or(third, |k| k.min(third))
    });
    let route_refresh = open.route_refresh();
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
