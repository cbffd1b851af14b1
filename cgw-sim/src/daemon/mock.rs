//! `cgw-sim mock-aws`: AWS's two tunnel endpoints on this host, for a real
//! device (or strongSwan) to be tested against AWS's behaviour. Each
//! endpoint is its own [`TunnelGateway`] on its own outside address with
//! one TUN device (`awssim1`, `awssim2`, holding AWS's inside address) and
//! its own BGP speaker (passive, hold 30 s, keepalive 10 s, the prefix
//! limit, announcing the VPC CIDRs with MED 100), as in the simulated lab.
//! The VPC route table is the kernel's: the customer prefixes learned on
//! the two sessions go through AWS's path choice (one tunnel per prefix)
//! and are installed towards the chosen tunnel's TUN device while route
//! propagation is on. Each tunnel's AWS-format log records (tunnel and BGP)
//! are written as JSON lines to the configured log file (or standard
//! output), and every failure is diagnosed from AWS's side.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bgp::rib::{Rib, RouteSource};
use bgp::route::{IpNet, PathAttributes};
use bgp::session::State;
use bgp::speaker::{PeerId, Speaker, SpeakerEvent};
use ike::crypto::Secret;
use lab::kernel::{Netns, TunConfig};

use super::background::Background;
/// The AWS mock, ready to run.
pub type MockSetup = Setup<MockDaemon>;
use super::cgw::{Transition, TunnelView};
use super::owned_routes::OwnedRoutes;
use super::view::View;
use super::{
    log_gateway_event, log_speaker_event, DaemonError, Publisher, Withdraw, INITIAL_TUN_MTU,
};
use super::{Daemon, Setup};
use crate::assemble::{self, Inside};
use crate::aws::bgp_log_emitter::bgp_records;
use crate::aws::log_emitter::{tunnel_log, LogInput, TunnelLogSettings};
use crate::aws::path_choice::{choose_tunnels, VpnRoute, VpnRouteSource};
use crate::aws::DpdTimeoutAction;
use crate::config::MockConfig;
use crate::diagnosis::{Context, Diagnosis};
use crate::node::{self, TunnelEventKind, TunnelGateway, TunnelId};
use crate::os::host_loop::{Controller, Host};
use crate::os::site::SiteIo;
use crate::scenario::{Prefix, Routing};
use crate::telemetry::Status;

/// The mock's TUN devices, tunnel 1 and tunnel 2.
pub const MOCK_TUNS: [&str; 2] = ["awssim1", "awssim2"];

/// Where AWS-format records go.
enum LogSink {
    Stdout,
    File(std::fs::File),
}

impl LogSink {
    fn write_line(&mut self, line: &str) {
        let r = match self {
            LogSink::Stdout => writeln!(std::io::stdout(), "{line}"),
            LogSink::File(f) => writeln!(f, "{line}").and_then(|()| f.flush()),
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot write the AWS log");
        }
    }
}

/// The AWS mock's controller. See the module documentation.
pub struct MockDaemon {
    cfg: MockConfig,
    inside: [Inside; 2],
    /// Each endpoint's peer (the CGW) in its own speaker, with BGP.
    peers: Option<[PeerId; 2]>,
    /// Per tunnel.
    pub tunnels: [TunnelView; 2],
    /// Every failure diagnosed from AWS's side, with its tunnel (1 or 2).
    pub diagnoses: Vec<(usize, Diagnosis)>,
    ctx: Context,
    routes: OwnedRoutes,
    started: bool,
    /// When the daemon started.
    pub epoch: Instant,
    epoch_ms: u64,
    tunnel_inputs: [Vec<(Duration, LogInput)>; 2],
    bgp_inputs: [Vec<(Duration, SpeakerEvent)>; 2],
    written: [(usize, usize); 2],
    /// Every AWS-format record written, as JSON text, per tunnel.
    pub records: [Vec<String>; 2],
    sink: LogSink,
    publisher: Publisher,
    events: Vec<(usize, Instant, TunnelEventKind)>,
}

/// Builds the two endpoints from `cfg` in the calling thread's namespace.
/// Must run inside the daemon's tokio runtime.
pub async fn setup(cfg: &MockConfig, seed: [u8; 32]) -> Result<MockSetup, DaemonError> {
    for (i, t) in cfg.tunnels.iter().enumerate() {
        super::check_local_address(t.listen, &format!("mock.tunnel{}.listen", i + 1))?;
    }
    let here = Netns::here().map_err(super::kernel("opening this network namespace"))?;
    let vpn_tunnels = [cfg.aws.tunnel1.resolve(), cfg.aws.tunnel2.resolve()];
    let mut inside = [Inside::of(crate::aws::Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 30)); 2];
    let mut gateways = Vec::new();
    let mut sites = Vec::new();
    for (i, mt) in cfg.tunnels.iter().enumerate() {
        inside[i] = Inside::of(mt.inside_cidr).with_v6(mt.inside_ipv6_cidr);
        let psk = Secret::new(mt.psk.expose().as_bytes().to_vec());
        let tc = assemble::aws::aws_tunnel(&vpn_tunnels[i], cfg.cgw_address, inside[i], psk);
        let mut s = seed;
        s[0] ^= 0x10 + i as u8;
        let mut gw = TunnelGateway::new(node::GatewayConfig {
            outer: mt.listen,
            tunnels: vec![tc],
            seed: s,
        });
        gw.use_tunnel_interfaces();
        gateways.push(gw);
        let tun = here
            .open_tun_offload(&TunConfig {
                name: MOCK_TUNS[i].to_string(),
                addr: inside[i].aws,
                prefix_len: 30,
                mtu: INITIAL_TUN_MTU,
                addr6: inside[i].v6.map(|v| (v.aws, 126)),
            })
            .map_err(super::kernel(format!("creating TUN {}", MOCK_TUNS[i])))?;
        sites.push(SiteIo::open(mt.listen, vec![tun]).await?);
    }
    let mut host = Host::new(gateways);
    let now = Instant::now();
    let peers = if cfg.aws.routing == Routing::Bgp {
        let cgw_asn = cfg.aws.cgw_asn.unwrap_or(65000);
        let mut ids = Vec::new();
        for (i, ins) in inside.iter().enumerate() {
            let sp = host.add_speaker(Speaker::new(Rib::new(cfg.aws.asn, ins.aws)));
            let pc = assemble::bgp::aws_peer(cfg.aws.asn, cgw_asn, cfg.aws.gateway, *ins);
            let id = host.speakers[sp]
                .add_peer(pc, ins.aws_bgp())
                .map_err(|e| DaemonError::Config(format!("aws BGP (tunnel {}): {e}", i + 1)))?;
            for p in &cfg.vpc_cidrs {
                if let Ok(net) = IpNet::new(p.addr, p.len) {
                    host.speakers[sp].speaker_mut().originate(
                        net,
                        PathAttributes::originated(ins.aws_bgp()),
                        now,
                    );
                }
            }
            // Passive: it waits for the customer gateway's connection.
            host.speakers[sp].start(id, now);
            ids.push(id);
        }
        Some([ids[0], ids[1]])
    } else {
        None
    };
    let sink = match &cfg.log_path {
        None => LogSink::Stdout,
        Some(p) => LogSink::File(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| DaemonError::Config(format!("mock.log_path {}: {e}", p.display())))?,
        ),
    };
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let routes = OwnedRoutes::here("aws")?;
    let ctx = Context::aws().with_addresses(
        Some(IpAddr::V4(cfg.cgw_address)),
        None,
        Some(IpAddr::V4(cfg.tunnels[0].listen)),
    );
    let mut tv = [TunnelView::default(), TunnelView::default()];
    for t in &mut tv {
        t.mtu = INITIAL_TUN_MTU;
    }
    Ok(Setup {
        host,
        sites,
        daemon: MockDaemon {
            cfg: cfg.clone(),
            inside,
            peers,
            tunnels: tv,
            diagnoses: Vec::new(),
            ctx,
            routes,
            started: false,
            epoch: now,
            epoch_ms,
            tunnel_inputs: [Vec::new(), Vec::new()],
            bgp_inputs: [Vec::new(), Vec::new()],
            written: [(0, 0); 2],
            records: [Vec::new(), Vec::new()],
            sink,
            publisher: Publisher::default(),
            events: Vec::new(),
        },
    })
}

impl MockDaemon {
    /// The configuration it runs.
    pub fn config(&self) -> &MockConfig {
        &self.cfg
    }

    /// The VPC routes installed in the kernel now (prefix, TUN device).
    pub fn installed_routes(&self) -> &BTreeMap<Prefix, String> {
        self.routes.installed()
    }

    fn status_base(&self) -> Status {
        Status::new(
            crate::telemetry::Role::AwsMock,
            "mock-aws",
            IpAddr::V4(self.cfg.tunnels[0].listen),
        )
    }

    fn status(&self, host: &Host, v: &View, now: Instant) -> Status {
        use super::status::{bgp_status, route_status, tunnel_status, with_counters, TunnelSource};
        let mut s = self.status_base();
        s.uptime = now.saturating_duration_since(self.epoch);
        let cgw_asn = self.cfg.aws.cgw_asn.unwrap_or(65000);
        for t in 0..2 {
            s.tunnels.push(tunnel_status(
                &TunnelSource {
                    number: t as u32 + 1,
                    gateway: &host.gateways[t],
                    id: TunnelId(0),
                    tun: MOCK_TUNS[t],
                    peer: self.cfg.cgw_address,
                    inside: (self.inside[t].aws, self.inside[t].cgw),
                    view: &self.tunnels[t],
                },
                now,
            ));
            if let (Some(peers), Some(sp)) = (self.peers, host.speakers.get(t)) {
                s.bgp.push(bgp_status(
                    t as u32 + 1,
                    sp,
                    peers[t],
                    self.inside[t].cgw,
                    cgw_asn,
                    &self.tunnels[t],
                    now,
                ));
            }
        }
        s.routes = route_status(&v.routes, MOCK_TUNS, self.peers.is_some());
        with_counters(s, &host.stats)
    }

    fn view(&self, host: &Host, now: Instant) -> View {
        View {
            role: "aws",
            tunnels: self.tunnels.clone(),
            routes: self.routes.listed(),
            diagnoses: self
                .diagnoses
                .iter()
                .map(|(t, d)| (*t, d.code(), symptom_with_evidence(d)))
                .collect(),
            records: self.records.clone(),
            stats: host.stats,
            uptime: super::secs_since(self.epoch, now),
            events: self.events.clone(),
        }
    }

    fn gateway_events(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant) {
        for t in 0..2 {
            for e in host.gateways[t].take_events() {
                log_gateway_event("aws", t + 1, &e);
                super::view::journal(&mut self.events, t, e.at, &e.kind);
                let at = e.at.saturating_duration_since(self.epoch);
                self.tunnel_inputs[t].push((at, LogInput::Gateway(e.kind.clone())));
                match self.tunnels[t].apply(&e.kind, now) {
                    Transition::Up => {
                        self.routes.mark();
                        if let (Some(mtu), Some(tun)) =
                            (host.gateways[t].tunnel_mtu(TunnelId(0)), sites[t].tun(0))
                        {
                            self.tunnels[t].set_mtu(tun, mtu, "aws", t + 1);
                        }
                    }
                    Transition::Down { was_up } => {
                        self.routes.mark();
                        let d = match &e.kind {
                            TunnelEventKind::Down { cause, .. } => {
                                crate::runner::diagnose_down_cause(cause, &self.ctx).1
                            }
                            _ => None,
                        };
                        if let Some(d) = d {
                            tracing::warn!(
                                role = "aws",
                                tunnel = t + 1,
                                code = d.code(),
                                diagnosis = %symptom_with_evidence(&d),
                                "diagnosis"
                            );
                            self.diagnoses.push((t + 1, d));
                        }
                        if let (Some(peers), true) = (self.peers, was_up) {
                            // AWS's DPD action clear removes the tunnel's
                            // routes: the session goes with the tunnel.
                            let sp = &mut host.speakers[t];
                            sp.reset(peers[t], now);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn bgp_events(&mut self, host: &mut Host, now: Instant) {
        let Some(peers) = self.peers else {
            return;
        };
        for (t, peer) in peers.iter().enumerate() {
            let sp = &mut host.speakers[t];
            for (at, e) in sp.take_events() {
                log_speaker_event("aws", t + 1, &e);
                self.routes.mark();
                if let SpeakerEvent::Session { event, .. } = &e {
                    use bgp::session::SessionEvent as S;
                    match event {
                        S::Established { .. } => self.tunnels[t].bgp_since = Some(now),
                        S::NotificationSent(n) | S::NotificationReceived(n) => {
                            self.tunnels[t].bgp_error = Some(format!("{n:?}"))
                        }
                        _ => {}
                    }
                }
                self.bgp_inputs[t].push((at.saturating_duration_since(self.epoch), e));
            }
            let st = sp.speaker().state(*peer);
            self.tunnels[t].bgp = Some(st);
            if st != State::Established {
                self.tunnels[t].bgp_since = None;
            }
        }
    }

    /// Writes the AWS-format records not written yet.
    fn write_logs(&mut self) {
        for t in 0..2 {
            let opts = if t == 0 {
                &self.cfg.aws.tunnel1
            } else {
                &self.cfg.aws.tunnel2
            };
            let settings = TunnelLogSettings {
                cgw: IpAddr::V4(self.cfg.cgw_address),
                dpd_enabled: opts.resolve().dpd_timeout_action != DpdTimeoutAction::None,
                epoch_ms: self.epoch_ms,
            };
            let tunnel = tunnel_log(&settings, &self.tunnel_inputs[t]);
            let bgp = bgp_records(&self.bgp_inputs[t], self.inside[t].cgw, self.epoch_ms);
            let (wt, wb) = self.written[t];
            for r in tunnel.iter().skip(wt) {
                let line = r.record.to_json();
                self.sink.write_line(&line);
                self.records[t].push(line);
            }
            for r in bgp.iter().skip(wb) {
                let line = r.record.to_json();
                self.sink.write_line(&line);
                self.records[t].push(line);
            }
            self.written[t] = (tunnel.len(), bgp.len());
        }
    }

    /// The VPC route table: the customer's prefixes through the tunnel
    /// AWS's path choice picks (with propagation on), or the static routes
    /// through every tunnel that is up (the lower one wins).
    fn wanted_routes(&mut self, host: &Host) -> BTreeMap<Prefix, String> {
        let mut candidates = Vec::new();
        for t in &mut self.tunnels {
            t.learned.clear();
        }
        if self.peers.is_some() {
            for (t, sp) in host.speakers.iter().enumerate().take(2) {
                for (prefix, route) in sp.speaker().rib().iter_best() {
                    if !matches!(route.source, RouteSource::Peer(_)) {
                        continue;
                    }
                    {
                        let p = Prefix::from(prefix);
                        self.tunnels[t].learned.push(p);
                        candidates.push(VpnRoute {
                            prefix: (p.addr, p.len),
                            tunnel: t,
                            source: VpnRouteSource::Bgp,
                            as_path_len: route.attrs.as_path.len(),
                            med: route.med(),
                        });
                    }
                }
            }
        } else {
            for (t, view) in self.tunnels.iter().enumerate() {
                if !view.up {
                    continue;
                }
                for p in &self.cfg.aws.static_routes {
                    candidates.push(VpnRoute {
                        prefix: (p.addr, p.len),
                        tunnel: t,
                        source: VpnRouteSource::Static,
                        as_path_len: 0,
                        med: None,
                    });
                }
            }
        }
        if !self.cfg.aws.route_propagation {
            return BTreeMap::new();
        }
        choose_tunnels(&candidates)
            .into_iter()
            .map(|((addr, len), t)| (Prefix { addr, len }, MOCK_TUNS[t].to_string()))
            .collect()
    }
}

/// A diagnosis's symptom with what points at its most likely cause (for a
/// refused proposal: what the CGW offered and what AWS accepts), so the
/// view says which DH group or algorithm was wrong, not only that one was.
fn symptom_with_evidence(d: &Diagnosis) -> String {
    match d.top_cause().and_then(|c| c.evidence.as_deref()) {
        Some(e) => format!("{} ({e})", d.symptom),
        None => d.symptom.clone(),
    }
}

impl Daemon for MockDaemon {
    fn publisher(&mut self) -> &mut Publisher {
        &mut self.publisher
    }

    fn empty_status(&self) -> Status {
        self.status_base()
    }
}

impl Withdraw for MockDaemon {
    fn withdraw_routes(&mut self) {
        self.routes.clear();
    }
}

impl Controller for MockDaemon {
    fn step(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant) {
        if !self.started {
            self.started = true;
            for gw in &mut host.gateways {
                // Startup action start: AWS initiates (the gateway knows).
                gw.initiate_all(now);
            }
            tracing::info!(
                role = "aws",
                tunnel1 = %self.cfg.tunnels[0].listen,
                tunnel2 = %self.cfg.tunnels[1].listen,
                cgw = %self.cfg.cgw_address,
                "AWS mock started"
            );
        }
        self.gateway_events(host, sites, now);
        self.bgp_events(host, now);
        self.write_logs();
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
        self.publisher.next_due()
    }
}

/// `cgw-sim mock-aws`: runs the two endpoints until SIGINT or SIGTERM.
pub fn run(cfg: &MockConfig, seed: [u8; 32]) -> Result<(), DaemonError> {
    let endpoints = crate::telemetry::Endpoints {
        metrics_listen: Some(cfg.metrics_listen),
        control_socket: Some(cfg.control_socket.clone()),
    };
    super::run_until_signal(|| setup(cfg, seed), endpoints)?;
    tracing::info!(role = "aws", "AWS mock stopped");
    Ok(())
}

/// Runs the mock on a thread inside `ns` until [`Background::stop`].
pub fn spawn(ns: &Netns, cfg: MockConfig, seed: [u8; 32]) -> Result<Background, DaemonError> {
    super::spawn_in(ns, "aws", move || async move { setup(&cfg, seed).await })
}
