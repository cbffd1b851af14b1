//! A daemon's [`Status`] (what `cgw-sim status` and `/metrics` show), read
//! from its gateways, speakers and tunnel views.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::session::State;
use bgp::speaker::PeerId;

use super::cgw::TunnelView;
use crate::node::{TunnelGateway, TunnelId};
use crate::os::bgp_tcp::KernelBgp;
use crate::telemetry::{
    BgpStatus, ChildSaStatus, IkeSaStatus, RouteSource, RouteStatus, Status, TunnelState,
    TunnelStatus, TunnelTotals,
};

/// One tunnel as the status shows it: which gateway and tunnel index hold
/// it, its device and addresses.
pub struct TunnelSource<'a> {
    /// 1 or 2.
    pub number: u32,
    /// The gateway holding it.
    pub gateway: &'a TunnelGateway,
    /// Its index in that gateway.
    pub id: TunnelId,
    /// The TUN device.
    pub tun: &'a str,
    /// The peer's outside address.
    pub peer: Ipv4Addr,
    /// (ours, the peer's) inside addresses.
    pub inside: (Ipv4Addr, Ipv4Addr),
    /// The controller's view.
    pub view: &'a TunnelView,
}

fn suite_text(g: &TunnelGateway, t: TunnelId) -> String {
    match g.esp_suite(t) {
        Some((e, i, nat)) => format!(
            "{e:?}{}{}",
            i.map(|i| format!("/{i:?}")).unwrap_or_default(),
            if nat { " (UDP 4500)" } else { "" }
        ),
        None => String::new(),
    }
}

/// A tunnel's status at `now`.
pub fn tunnel_status(s: &TunnelSource<'_>, now: Instant) -> TunnelStatus {
    let v = s.view;
    let state = if v.up {
        TunnelState::Up
    } else if s.gateway.endpoint().sas().any(|(_, sa)| {
        sa.remote_addr().ip() == IpAddr::V4(s.peer) && sa.state() != ike::sa::State::Closed
    }) {
        TunnelState::Connecting
    } else {
        TunnelState::Down
    };
    let ike_sa = s.gateway.ike_sa(s.id).map(|sa| IkeSaStatus {
        spi_i: sa.spi_i(),
        spi_r: sa.spi_r(),
        local_initiator: sa.role() == ike::sa::Role::Initiator,
        suite: sa.suite().map(|x| x.to_string()).unwrap_or_default(),
        age: v
            .up_since
            .map_or(Duration::ZERO, |u| now.saturating_duration_since(u)),
        rekeys: v.ike_rekeys,
    });
    let suite = suite_text(s.gateway, s.id);
    let child_sas = s
        .gateway
        .child_sas(s.id)
        .into_iter()
        .map(|(spi_in, spi_out, i, o)| ChildSaStatus {
            spi_in,
            spi_out,
            suite: suite.clone(),
            packets_in: i.packets,
            packets_out: o.packets,
            bytes_in: i.bytes,
            bytes_out: o.bytes,
        })
        .collect();
    let traffic = s.gateway.tunnel_traffic(s.id);
    TunnelStatus {
        index: s.number,
        tun: s.tun.to_string(),
        peer: IpAddr::V4(s.peer),
        inside_local: IpAddr::V4(s.inside.0),
        inside_remote: IpAddr::V4(s.inside.1),
        state,
        last_failure: v.last_failure.as_ref().map(|c| format!("{c:?}")),
        ike_sa,
        child_sas,
        mtu: Some(v.mtu),
        totals: TunnelTotals {
            established: v.established,
            ike_rekeys: v.ike_rekeys,
            child_rekeys: v.child_rekeys,
            esp_packets_in: traffic.packets_in,
            esp_packets_out: traffic.packets_out,
            esp_bytes_in: traffic.bytes_in,
            esp_bytes_out: traffic.bytes_out,
        },
    }
}

/// A BGP session's status (`tunnel` 1 or 2).
pub fn bgp_status(
    tunnel: u32,
    sp: &KernelBgp,
    peer: PeerId,
    address: Ipv4Addr,
    peer_as: u32,
    view: &TunnelView,
    now: Instant,
) -> BgpStatus {
    let rib = sp.speaker().rib();
    BgpStatus {
        tunnel,
        peer: IpAddr::V4(address),
        peer_as,
        state: sp.speaker().state(peer),
        uptime: view.bgp_since.map(|b| now.saturating_duration_since(b)),
        prefixes_received: rib.adj_rib_in_len(peer) as u64,
        prefixes_advertised: if sp.speaker().state(peer) == State::Established {
            rib.adj_rib_out(peer).count() as u64
        } else {
            0
        },
        last_error: view.bgp_error.clone(),
    }
}

/// The routes a daemon installed, with their tunnel (by device); from
/// BGP when `bgp`, else static.
pub fn route_status(
    routes: &[(crate::scenario::Prefix, String)],
    tuns: [&str; 2],
    bgp: bool,
) -> Vec<RouteStatus> {
    let source = if bgp {
        RouteSource::Bgp
    } else {
        RouteSource::Static
    };
    routes
        .iter()
        .filter_map(|(p, dev)| {
            let t = tuns.iter().position(|d| d == dev)?;
            Some(RouteStatus {
                prefix: *p,
                tunnel: t as u32 + 1,
                source,
            })
        })
        .collect()
}

/// Puts the I/O counters into a status.
pub fn with_counters(mut s: Status, stats: &crate::os::site::DriverStats) -> Status {
    for (name, v) in stats.named() {
        s.counters.insert(name.to_string(), v);
    }
    s
}
