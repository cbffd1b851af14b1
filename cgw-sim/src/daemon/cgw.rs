//! `cgw-sim run`: the customer gateway on this host. One
//! [`TunnelGateway`] with a TUN device per tunnel (inside /30 address,
//! MTU set from the negotiated algorithms once the tunnel is up), IKE and
//! ESP on the outside address, one BGP session per tunnel on the kernel's
//! TCP (started when its tunnel comes up, reset when it goes down), and
//! the routes BGP learns (or the static routes) installed into the kernel
//! towards the tunnel's TUN device, removed at exit.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp::rib::RouteSource;
use bgp::route::{IpNet, PathAttributes};
use bgp::session::State;
use bgp::speaker::{PeerId, Speaker, SpeakerEvent};
use ike::crypto::Secret;
use lab::kernel::{Netns, TunConfig};

use super::background::Background;
/// The customer gateway, ready to run.
pub type CgwSetup = Setup<CgwDaemon>;
use super::owned_routes::OwnedRoutes;
use super::view::View;
use super::{
    log_gateway_event, log_speaker_event, DaemonError, Publisher, Withdraw, INITIAL_TUN_MTU,
};
use super::{Daemon, Setup};
use crate::assemble::{self, Inside};
use crate::config::GatewayConfig;
use crate::node::{self, DownCause, TunnelEventKind, TunnelGateway, TunnelId};
use crate::os::host_loop::{Controller, Host};
use crate::os::site::SiteIo;
use crate::scenario::{Prefix, Routing};
use crate::telemetry::Status;

/// What one tunnel of the running gateway looks like to its controller.
#[derive(Debug, Clone, Default)]
pub struct TunnelView {
    /// The IKE SA is established.
    pub ike_up: bool,
    /// A child SA pair is installed (traffic flows).
    pub up: bool,
    /// When it came up last.
    pub up_since: Option<Instant>,
    /// The last failure, if any.
    pub last_failure: Option<DownCause>,
    /// The TUN device's MTU now.
    pub mtu: u32,
    /// The BGP session's state (BGP routing).
    pub bgp: Option<State>,
    /// When the BGP session was established last.
    pub bgp_since: Option<Instant>,
    /// The last BGP NOTIFICATION or error, as text.
    pub bgp_error: Option<String>,
    /// Prefixes learned from AWS on this tunnel now.
    pub learned: Vec<Prefix>,
    /// Times the tunnel came up.
    pub established: u64,
    /// IKE SA rekeys.
    pub ike_rekeys: u64,
    /// Child SA rekeys.
    pub child_rekeys: u64,
}

/// What an event did to a tunnel, for the controller to follow up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The tunnel came up.
    Up,
    /// The tunnel went (or stayed) down; `was_up` if it was up before.
    Down {
        /// Whether it was up just before.
        was_up: bool,
    },
    /// Nothing that changes whether it is up.
    Other,
}

impl TunnelView {
    /// Follows one event of the tunnel (state, counts, last failure).
    pub fn apply(&mut self, kind: &TunnelEventKind, now: Instant) -> Transition {
        match kind {
            TunnelEventKind::Up => self.established += 1,
            TunnelEventKind::IkeRekeyed => self.ike_rekeys += 1,
            TunnelEventKind::ChildRekeyed { .. } => self.child_rekeys += 1,
            _ => {}
        }
        match kind {
            TunnelEventKind::IkeUp { .. } => {
                self.ike_up = true;
                Transition::Other
            }
            TunnelEventKind::Up => {
                self.up = true;
                self.up_since = Some(now);
                Transition::Up
            }
            TunnelEventKind::Down { cause, .. } => {
                let was_up = self.up;
                self.up = false;
                self.ike_up = false;
                self.up_since = None;
                self.last_failure = Some(cause.clone());
                Transition::Down { was_up }
            }
            _ => Transition::Other,
        }
    }

    /// Sets `tun`'s MTU to `mtu` (tunnel number `tunnel` of `role`) and
    /// records it.
    pub fn set_mtu(&mut self, tun: &lab::kernel::Tun, mtu: usize, role: &str, tunnel: usize) {
        let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
        match tun.set_mtu(mtu) {
            Ok(()) => {
                self.mtu = u32::from(mtu);
                tracing::info!(role, tunnel, mtu, dev = tun.name(), "tunnel MTU set");
            }
            Err(e) => tracing::warn!(role, tunnel, error = %e, "cannot set the tunnel MTU"),
        }
    }
}

/// The customer gateway's controller. See the module documentation.
pub struct CgwDaemon {
    cfg: GatewayConfig,
    inside: [Inside; 2],
    peers: Option<[PeerId; 2]>,
    /// Per tunnel.
    pub tunnels: [TunnelView; 2],
    routes: OwnedRoutes,
    started: Option<Instant>,
    /// When each failed tunnel is initiated again.
    retry_at: [Option<Instant>; 2],
    /// When the daemon started.
    pub epoch: Instant,
    publisher: Publisher,
    events: Vec<(usize, Instant, TunnelEventKind)>,
    /// The per-tunnel keepalive prober (stopped on drop with the daemon);
    /// its figures go into the status.
    keepalive: Option<crate::sla_daemon::keepalive::Keepalive>,
}

/// Builds the gateway from `cfg` in the calling thread's namespace: TUN
/// devices, sockets, the BGP speaker. Must run inside the daemon's tokio
/// runtime. `seed` seeds the IKE engine (SPIs, nonces, DH keys): take it
/// from the OS's randomness in production.
pub async fn setup(cfg: &GatewayConfig, seed: [u8; 32]) -> Result<CgwSetup, DaemonError> {
    super::check_local_address(cfg.local_address, "gateway.local_address")?;
    let here = Netns::here().map_err(super::kernel("opening this network namespace"))?;
    let mut tunnels = Vec::new();
    let mut inside = [Inside::of(crate::aws::Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 30)); 2];
    let mut tuns = Vec::new();
    for (i, gt) in cfg.tunnels.iter().enumerate() {
        let ct = if i == 0 {
            &cfg.cgw.tunnel1
        } else {
            &cfg.cgw.tunnel2
        };
        inside[i] = Inside::of(gt.inside_cidr).with_v6(gt.inside_ipv6_cidr);
        let psk = Secret::new(gt.psk.expose().as_bytes().to_vec());
        tunnels.push(
            assemble::cgw::cgw_tunnel(ct, gt.aws_address, inside[i], psk)
                .map_err(|e| DaemonError::Config(format!("cgw.tunnel{}.{e}", i + 1)))?,
        );
        tuns.push(
            here.open_tun_offload(&TunConfig {
                name: gt.tun.clone(),
                addr: inside[i].cgw,
                prefix_len: 30,
                mtu: INITIAL_TUN_MTU,
                addr6: inside[i].v6.map(|v| (v.cgw, 126)),
            })
            .map_err(super::kernel(format!("creating TUN {}", gt.tun)))?,
        );
    }
    let mut gw = TunnelGateway::new(node::GatewayConfig {
        outer: cfg.local_address,
        tunnels,
        seed,
    });
    gw.use_tunnel_interfaces();
    let sites = vec![SiteIo::open(cfg.local_address, tuns).await?];
    let mut host = Host::new(vec![gw]);
    let now = Instant::now();
    let peers = if cfg.routing == Routing::Bgp {
        let router_id = cfg.local_address;
        let sp = host.add_speaker(Speaker::new(assemble::bgp::cgw_rib(
            cfg.cgw.bgp.asn,
            router_id,
        )));
        let mut ids = Vec::new();
        for (i, t) in [&cfg.cgw.tunnel1, &cfg.cgw.tunnel2].into_iter().enumerate() {
            let pc = assemble::bgp::cgw_peer(&cfg.cgw.bgp, t, cfg.aws_asn, router_id, inside[i]);
            let id = host.speakers[sp]
                .add_peer(pc, inside[i].cgw_bgp())
                .map_err(|e| DaemonError::Config(format!("cgw.bgp: {e}")))?;
            ids.push(id);
        }
        for p in &cfg.cgw.bgp.announce {
            if let Some(net) = ip_net(p.addr, p.len) {
                host.speakers[sp].speaker_mut().originate(
                    net,
                    PathAttributes::originated(inside[0].cgw_bgp()),
                    now,
                );
            }
        }
        Some([ids[0], ids[1]])
    } else {
        None
    };
    let routes = OwnedRoutes::here("cgw")?;
    // After the TUN devices exist: the probes bind to them.
    let keepalive = match cfg.keepalive {
        Some(iv) => {
            let ops = assemble::probe::keepalive_operations(cfg, iv);
            tracing::info!(
                every = ?iv,
                operations = ops.len(),
                "keepalive: an icmp-echo through each tunnel"
            );
            Some(
                crate::sla_daemon::keepalive::Keepalive::start(ops).map_err(|e| {
                    DaemonError::Config(format!("starting the keepalive thread: {e}"))
                })?,
            )
        }
        None => None,
    };
    let mut tv = [TunnelView::default(), TunnelView::default()];
    for t in &mut tv {
        t.mtu = INITIAL_TUN_MTU;
    }
    Ok(Setup {
        host,
        sites,
        daemon: CgwDaemon {
            cfg: cfg.clone(),
            inside,
            peers,
            tunnels: tv,
            routes,
            started: None,
            retry_at: [None; 2],
            epoch: now,
            publisher: Publisher::default(),
            events: Vec::new(),
            keepalive,
        },
    })
}

fn ip_net(addr: IpAddr, len: u8) -> Option<IpNet> {
    IpNet::new(addr, len).ok()
}

impl CgwDaemon {
    /// The configuration it runs.
    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// The routes installed in the kernel now (prefix, TUN device).
    pub fn installed_routes(&self) -> &BTreeMap<Prefix, String> {
        self.routes.installed()
    }

    fn status_base(&self) -> Status {
        Status::new(
            crate::telemetry::Role::CustomerGateway,
            "cgw-sim",
            IpAddr::V4(self.cfg.local_address),
        )
    }

    fn status(&self, host: &Host, v: &View, now: Instant) -> Status {
        use super::status::{bgp_status, route_status, tunnel_status, with_counters, TunnelSource};
        let mut s = self.status_base();
        s.uptime = now.saturating_duration_since(self.epoch);
        for t in 0..2 {
            s.tunnels.push(tunnel_status(
                &TunnelSource {
                    number: t as u32 + 1,
                    gateway: &host.gateways[0],
                    id: TunnelId(t),
                    tun: &self.cfg.tunnels[t].tun,
                    peer: self.cfg.tunnels[t].aws_address,
                    inside: (self.inside[t].cgw, self.inside[t].aws),
                    view: &self.tunnels[t],
                },
                now,
            ));
            if let (Some(peers), Some(sp)) = (self.peers, host.speakers.first()) {
                s.bgp.push(bgp_status(
                    t as u32 + 1,
                    sp,
                    peers[t],
                    self.inside[t].aws,
                    self.cfg.aws_asn,
                    &self.tunnels[t],
                    now,
                ));
            }
        }
        let tuns = [
            self.cfg.tunnels[0].tun.as_str(),
            self.cfg.tunnels[1].tun.as_str(),
        ];
        s.routes = route_status(&v.routes, tuns, self.peers.is_some());
        s.keepalive = self.keepalive.as_ref().map(|k| k.status());
        with_counters(s, &host.stats)
    }

    fn view(&self, host: &Host, now: Instant) -> View {
        View {
            role: "cgw",
            tunnels: self.tunnels.clone(),
            routes: self.routes.listed(),
            diagnoses: Vec::new(),
            records: [Vec::new(), Vec::new()],
            stats: host.stats,
            uptime: super::secs_since(self.epoch, now),
            events: self.events.clone(),
        }
    }

    fn tunnel_events(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant) {
        for e in host.gateways[0].take_events() {
            let t = e.tunnel.0;
            if t >= 2 {
                continue;
            }
            log_gateway_event("cgw", t + 1, &e);
            super::view::journal(&mut self.events, t, e.at, &e.kind);
            match self.tunnels[t].apply(&e.kind, now) {
                Transition::Up => {
                    self.retry_at[t] = None;
                    self.routes.mark();
                    // The MTU AWS's table gives for the negotiated suite,
                    // so the kernel answers a too-large DF packet with
                    // "fragmentation needed" itself. With `clear_df` the
                    // device takes full-size packets: the gateway clears DF
                    // and fragments before encryption.
                    let clear_df = [&self.cfg.cgw.tunnel1, &self.cfg.cgw.tunnel2][t].clear_df;
                    let mtu = host.gateways[0].tunnel_mtu(TunnelId(t)).map(|m| {
                        if clear_df {
                            node::tunnel::OUTER_MTU
                        } else {
                            m
                        }
                    });
                    if let (Some(mtu), Some(tun)) = (mtu, sites[0].tun(t)) {
                        self.tunnels[t].set_mtu(tun, mtu, "cgw", t + 1);
                    }
                    if let Some(peers) = self.peers {
                        host.speakers[0].start(peers[t], now);
                    }
                }
                Transition::Down { was_up } => {
                    if let TunnelEventKind::Down { cause, .. } = &e.kind {
                        let tc = [&self.cfg.cgw.tunnel1, &self.cfg.cgw.tunnel2][t];
                        self.retry_at[t] = assemble::cgw::retries_after(tc, cause)
                            .then_some(now + assemble::cgw::RETRY_INTERVAL);
                    }
                    self.routes.mark();
                    if let (Some(peers), true) = (self.peers, was_up) {
                        // Fast external fallover: the session under a
                        // tunnel that went down is reset at once.
                        let sp = &mut host.speakers[0];
                        sp.speaker_mut().stop(peers[t], now);
                        sp.pump(now);
                    }
                }
                Transition::Other => {}
            }
        }
    }

    fn bgp_events(&mut self, host: &mut Host, now: Instant) {
        let Some(peers) = self.peers else {
            return;
        };
        let sp = &mut host.speakers[0];
        for (_, e) in sp.take_events() {
            let peer = match &e {
                SpeakerEvent::Session { peer, .. }
                | SpeakerEvent::MaxPrefixExceeded { peer, .. }
                | SpeakerEvent::SendFailed { peer, .. } => Some(*peer),
                SpeakerEvent::Rib(_) => None,
            };
            let t = peer.and_then(|p| peers.iter().position(|x| *x == p));
            log_speaker_event("cgw", t.map_or(0, |t| t + 1), &e);
            self.routes.mark();
            if let (Some(t), SpeakerEvent::Session { event, .. }) = (t, &e) {
                use bgp::session::SessionEvent as S;
                match event {
                    S::Established { .. } => self.tunnels[t].bgp_since = Some(now),
                    S::NotificationSent(n) | S::NotificationReceived(n) => {
                        self.tunnels[t].bgp_error = Some(format!("{n:?}"))
                    }
                    _ => {}
                }
            }
        }
        for (t, p) in peers.iter().enumerate() {
            let st = sp.speaker().state(*p);
            self.tunnels[t].bgp = Some(st);
            if st != State::Established {
                self.tunnels[t].bgp_since = None;
            }
        }
    }

    /// The routes the kernel should have: BGP's best routes by next hop
    /// (an AWS inside address names the tunnel), or the static routes
    /// through the first tunnel that is up.
    fn wanted_routes(&mut self, host: &Host) -> BTreeMap<Prefix, String> {
        let mut want = BTreeMap::new();
        for t in &mut self.tunnels {
            t.learned.clear();
        }
        if let Some(sp) = host.speakers.first() {
            for (prefix, route) in sp.speaker().rib().iter_best() {
                if !matches!(route.source, RouteSource::Peer(_)) {
                    continue;
                }
                let t = self
                    .inside
                    .iter()
                    .position(|i| i.aws_bgp() == route.next_hop());
                if let Some(t) = t {
                    want.insert(Prefix::from(prefix), self.cfg.tunnels[t].tun.clone());
                }
            }
            // Every tunnel's learned prefixes (not only the best).
            for (t, peer) in self.peers.iter().flatten().enumerate() {
                for (net, _, accepted) in sp.speaker().rib().adj_rib_in(*peer) {
                    if accepted {
                        self.tunnels[t].learned.push(Prefix::from(net));
                    }
                }
            }
        } else if let Some(t) = self.tunnels.iter().position(|t| t.up) {
            for p in &self.cfg.cgw.static_routes {
                want.insert(*p, self.cfg.tunnels[t].tun.clone());
            }
        }
        want
    }
}

impl Daemon for CgwDaemon {
    fn publisher(&mut self) -> &mut Publisher {
        &mut self.publisher
    }

    fn empty_status(&self) -> Status {
        self.status_base()
    }
}

impl Withdraw for CgwDaemon {
    fn withdraw_routes(&mut self) {
        self.routes.clear();
    }
}

impl Controller for CgwDaemon {
    fn step(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant) {
        if self.started.is_none() {
            self.started = Some(now);
            host.gateways[0].initiate_all(now);
            tracing::info!(
                local = %self.cfg.local_address,
                tunnel1 = %self.cfg.tunnels[0].aws_address,
                tunnel2 = %self.cfg.tunnels[1].aws_address,
                routing = ?self.cfg.routing,
                "customer gateway started"
            );
        }
        self.tunnel_events(host, sites, now);
        for t in 0..2 {
            if self.retry_at[t].is_some_and(|r| r <= now) {
                self.retry_at[t] = None;
                tracing::info!(tunnel = t + 1, "initiating the tunnel again");
                host.gateways[0].initiate(TunnelId(t), now);
            }
        }
        self.bgp_events(host, now);
        let changed = self.routes.take_due();
        if changed {
            let want = self.wanted_routes(host);
            self.routes.apply(&want);
        }
        if self.publisher.due(changed, now) {
            let v = self.view(host, now);
            let st = self
                .publisher
                .wants_status()
                .then(|| self.status(host, &v, now));
            self.publisher.publish(v, st, now);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.retry_at
            .into_iter()
            .flatten()
            .chain(self.publisher.next_due())
            .min()
    }
}

/// `cgw-sim run`: runs the customer gateway until SIGINT or SIGTERM, then
/// deletes the SAs, withdraws the routes and removes the TUN devices.
pub fn run(cfg: &GatewayConfig, seed: [u8; 32]) -> Result<(), DaemonError> {
    let endpoints = crate::telemetry::Endpoints {
        metrics_listen: Some(cfg.metrics_listen),
        control_socket: Some(cfg.control_socket.clone()),
    };
    super::run_until_signal(|| setup(cfg, seed), endpoints)?;
    tracing::info!("customer gateway stopped: SAs deleted, routes withdrawn");
    Ok(())
}

/// Runs the customer gateway on a thread inside `ns` until
/// [`Background::stop`].
pub fn spawn(ns: &Netns, cfg: GatewayConfig, seed: [u8; 32]) -> Result<Background, DaemonError> {
    super::spawn_in(ns, "cgw", move || async move { setup(&cfg, seed).await })
}
