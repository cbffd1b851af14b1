//! `cgw-sim validate`: the customer gateway of `cgw-sim run`, brought up
//! once against the configured peer and checked, then torn down. Per
//! tunnel: phase 1 (IKE SA), phase 2 (child SA), the BGP session (or, with
//! static routing, the static routes installed), the routes learned, and
//! reachability of the configured targets through that tunnel (pings and
//! TCP connects bound to the tunnel's TUN device). A failure carries the
//! diagnosis of what the engines saw. The verdict holds only if every
//! check of every enabled tunnel passed within the timeout.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scenario::Prefix;
use bgp::session::State;
use serde::Serialize;

use super::cgw::{setup, CgwDaemon, CgwSetup};
use super::DaemonError;
use crate::config::GatewayConfig;
use crate::diagnosis::Context;
use crate::node::DownCause;
use crate::os::host_loop::{Controller, Host};
use crate::os::reach;
use crate::os::site::SiteIo;
use crate::scenario::Routing;

/// How many echo requests a ping target gets.
const PING_COUNT: u32 = 3;
/// How long a reachability check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "lowercase")]
pub enum Check {
    /// It held (with what was measured).
    Pass(String),
    /// It did not (with why).
    Fail(String),
    /// Not applicable (a disabled tunnel, static routing's BGP check).
    Skip(String),
}

impl Check {
    fn failed(&self) -> bool {
        matches!(self, Check::Fail(_))
    }
}

/// One tunnel's checks.
#[derive(Debug, Clone, Serialize)]
pub struct TunnelVerdict {
    /// 1 or 2.
    pub tunnel: usize,
    /// The AWS endpoint.
    pub peer: String,
    /// The IKE SA.
    pub phase1: Check,
    /// The child SA.
    pub phase2: Check,
    /// The BGP session (BGP routing) or the static routes (static).
    pub routing: Check,
    /// Routes learned from AWS (BGP) or installed (static).
    pub routes: Check,
    /// Each ping target.
    pub ping: Vec<(String, Check)>,
    /// Each TCP target.
    pub tcp: Vec<(String, Check)>,
    /// What went wrong, in words, if something did.
    pub diagnosis: Option<String>,
    /// The diagnosis's short code.
    pub code: Option<String>,
}

/// The whole verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Every check of every enabled tunnel passed.
    pub passed: bool,
    /// Seconds from start to verdict.
    pub elapsed_s: f64,
    /// Tunnel 1 and tunnel 2.
    pub tunnels: Vec<TunnelVerdict>,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |f: &mut std::fmt::Formatter<'_>, name: &str, c: &Check| match c {
            Check::Pass(d) => writeln!(f, "  ok    {name}: {d}"),
            Check::Fail(d) => writeln!(f, "  FAIL  {name}: {d}"),
            Check::Skip(d) => writeln!(f, "  skip  {name}: {d}"),
        };
        for t in &self.tunnels {
            writeln!(f, "tunnel {} (AWS {}):", t.tunnel, t.peer)?;
            line(f, "phase 1 (IKE SA)", &t.phase1)?;
            line(f, "phase 2 (child SA)", &t.phase2)?;
            line(f, "routing", &t.routing)?;
            line(f, "routes", &t.routes)?;
            for (target, c) in &t.ping {
                line(f, &format!("ping {target}"), c)?;
            }
            for (target, c) in &t.tcp {
                line(f, &format!("tcp {target}"), c)?;
            }
            if let Some(d) = &t.diagnosis {
                writeln!(f, "  diagnosis: {}", d.trim_end().replace('\n', "\n    "))?;
            }
        }
        writeln!(
            f,
            "verdict: {} after {:.1} s",
            if self.passed { "PASS" } else { "FAIL" },
            self.elapsed_s
        )
    }
}

/// Results of the reachability checks, filled by their threads.
type Results = Arc<Mutex<Vec<(usize, bool, String, Check)>>>;

/// `validate`'s controller: the customer gateway, plus the checks.
struct Validator {
    gw: CgwDaemon,
    start: Instant,
    /// Checks started per tunnel.
    probing: [bool; 2],
    /// How many checks were started.
    started: usize,
    results: Results,
}

impl Validator {
    fn enabled(&self, t: usize) -> bool {
        let c = self.gw.config();
        if t == 0 {
            c.cgw.tunnel1.enabled
        } else {
            c.cgw.tunnel2.enabled
        }
    }

    /// Up, BGP established (with BGP) and at least one route.
    fn ready(&self, t: usize) -> bool {
        let v = &self.gw.tunnels[t];
        let routed = match self.gw.config().routing {
            Routing::Bgp => v.bgp == Some(State::Established) && !v.learned.is_empty(),
            Routing::Static => self
                .gw
                .installed_routes()
                .values()
                .any(|d| *d == self.gw.config().tunnels[t].tun),
        };
        v.up && routed
    }

    /// Whether tunnel `t` failed in a way that trying again cannot change
    /// (a proposal, key or selector mismatch, an IKE version the peer does
    /// not speak): no need to wait out the timeout for it. A peer that does
    /// not answer yet is not such a failure.
    fn refused(&self, t: usize) -> bool {
        use ike::sa::Failure as F;
        let v = &self.gw.tunnels[t];
        if v.up {
            return false;
        }
        match &v.last_failure {
            Some(DownCause::IkeFailed(f) | DownCause::ChildFailed(f)) => matches!(
                f,
                F::NoProposalChosen(_)
                    | F::PeerNoProposalChosen { .. }
                    | F::InvalidKeNotOffered { .. }
                    | F::InvalidKeAfterRetry { .. }
                    | F::AuthenticationFailed(_)
                    | F::PeerAuthenticationFailed { .. }
                    | F::TsUnacceptable { .. }
                    | F::PeerTsUnacceptable { .. }
            ),
            Some(DownCause::IkeVersionMismatch { .. }) => true,
            _ => false,
        }
    }

    fn start_checks(&mut self, t: usize) {
        self.probing[t] = true;
        let gt = &self.gw.config().tunnels[t];
        let dev = gt.tun.clone();
        let inside = crate::assemble::Inside::of(gt.inside_cidr).with_v6(gt.inside_ipv6_cidr);
        // The tunnel's own inside address of the target's family (the
        // configuration holds targets to the tunnels' family).
        for target in gt.ping_targets.clone() {
            let (dev, results) = (dev.clone(), self.results.clone());
            self.started += 1;
            let source = inside.cgw_for(target);
            std::thread::spawn(move || {
                let c = match reach::ping(
                    &dev,
                    source,
                    target,
                    PING_COUNT,
                    Duration::from_millis(200),
                    CHECK_TIMEOUT,
                ) {
                    Ok(r) if r.received > 0 => Check::Pass(format!(
                        "{}/{} replies, rtt {:.1} ms",
                        r.received,
                        r.sent,
                        r.rtt_ms.iter().sum::<f64>() / r.rtt_ms.len() as f64
                    )),
                    Ok(r) => Check::Fail(format!("0/{} replies", r.sent)),
                    Err(e) => Check::Fail(format!("cannot ping: {e}")),
                };
                if let Ok(mut r) = results.lock() {
                    r.push((t, true, target.to_string(), c));
                }
            });
        }
        for target in gt.tcp_targets.clone() {
            let (dev, results) = (dev.clone(), self.results.clone());
            self.started += 1;
            let source = inside.cgw_for(target.ip());
            std::thread::spawn(move || {
                let c = match reach::tcp_connect(&dev, source, target, CHECK_TIMEOUT) {
                    Ok(d) => Check::Pass(format!("connected in {:.1} ms", d.as_secs_f64() * 1e3)),
                    Err(e) => Check::Fail(format!("{e}")),
                };
                if let Ok(mut r) = results.lock() {
                    r.push((t, false, target.to_string(), c));
                }
            });
        }
    }

    fn finished_checks(&self) -> usize {
        self.results.lock().map_or(0, |r| r.len())
    }

    fn verdict(&self, now: Instant) -> Verdict {
        let cfg = self.gw.config();
        let results = self.results.lock().map(|r| r.clone()).unwrap_or_default();
        let mut tunnels = Vec::new();
        for t in 0..2 {
            let v = &self.gw.tunnels[t];
            let gt = &cfg.tunnels[t];
            let mut tv = TunnelVerdict {
                tunnel: t + 1,
                peer: gt.aws_address.to_string(),
                phase1: Check::Skip("tunnel disabled".into()),
                phase2: Check::Skip("tunnel disabled".into()),
                routing: Check::Skip("tunnel disabled".into()),
                routes: Check::Skip("tunnel disabled".into()),
                ping: Vec::new(),
                tcp: Vec::new(),
                diagnosis: None,
                code: None,
            };
            if !self.enabled(t) {
                tunnels.push(tv);
                continue;
            }
            let failure = v.last_failure.as_ref().map(|c| {
                let ctx = Context::cgw().with_addresses(
                    Some(IpAddr::V4(cfg.local_address)),
                    Some(IpAddr::V4(cfg.local_address)),
                    Some(IpAddr::V4(gt.aws_address)),
                );
                crate::runner::diagnose_down_cause(c, &ctx)
            });
            let why = match &failure {
                Some((code, _)) => format!("not established ({code})"),
                None => "no answer from the peer (nothing received: address, firewall, \
                         or AWS waiting for the right source IP)"
                    .to_string(),
            };
            tv.phase1 = if v.ike_up || v.up {
                Check::Pass("IKE SA established".into())
            } else {
                Check::Fail(why.clone())
            };
            tv.phase2 = if v.up {
                Check::Pass(format!("child SA installed, tunnel MTU {}", v.mtu))
            } else {
                Check::Fail(why)
            };
            match cfg.routing {
                Routing::Bgp => {
                    tv.routing = match v.bgp {
                        Some(State::Established) => Check::Pass("BGP Established".into()),
                        s => Check::Fail(format!(
                            "BGP {}{}",
                            s.map_or("not started", |s| s.name()),
                            v.bgp_error
                                .as_ref()
                                .map(|e| format!(", last NOTIFICATION {e}"))
                                .unwrap_or_default()
                        )),
                    };
                    tv.routes = if v.learned.is_empty() {
                        Check::Fail("no route learned from AWS".into())
                    } else {
                        Check::Pass(format!("learned {}", prefixes(&v.learned)))
                    };
                }
                Routing::Static => {
                    tv.routing = Check::Skip("static routing".into());
                    let mine: Vec<Prefix> = self
                        .gw
                        .installed_routes()
                        .iter()
                        .filter(|(_, d)| **d == gt.tun)
                        .map(|(p, _)| *p)
                        .collect();
                    tv.routes = if mine.is_empty() {
                        Check::Skip("static routes use the other tunnel".into())
                    } else {
                        Check::Pass(format!("installed {}", prefixes(&mine)))
                    };
                }
            }
            for target in &gt.ping_targets {
                let c = results
                    .iter()
                    .find(|r| r.0 == t && r.1 && r.2 == target.to_string())
                    .map_or_else(
                        || Check::Fail("not tried: the tunnel never became ready".into()),
                        |r| r.3.clone(),
                    );
                tv.ping.push((target.to_string(), c));
            }
            for target in &gt.tcp_targets {
                let c = results
                    .iter()
                    .find(|r| r.0 == t && !r.1 && r.2 == target.to_string())
                    .map_or_else(
                        || Check::Fail("not tried: the tunnel never became ready".into()),
                        |r| r.3.clone(),
                    );
                tv.tcp.push((target.to_string(), c));
            }
            if let Some((code, d)) = failure {
                tv.code = Some(code.to_string());
                tv.diagnosis = d.map(|d| d.to_string()).or(Some(code.to_string()));
            }
            tunnels.push(tv);
        }
        let passed = tunnels.iter().all(|t| {
            ![&t.phase1, &t.phase2, &t.routing, &t.routes]
                .into_iter()
                .chain(t.ping.iter().map(|p| &p.1))
                .chain(t.tcp.iter().map(|p| &p.1))
                .any(Check::failed)
        }) && (0..2).any(|t| self.enabled(t));
        Verdict {
            passed,
            elapsed_s: super::secs_since(self.start, now),
            tunnels,
        }
    }
}

fn prefixes(p: &[Prefix]) -> String {
    p.iter()
        .map(|p| format!("{}/{}", p.addr, p.len))
        .collect::<Vec<_>>()
        .join(", ")
}

impl super::Withdraw for Validator {
    fn withdraw_routes(&mut self) {
        self.gw.withdraw_routes();
    }
}

impl Controller for Validator {
    fn step(&mut self, host: &mut Host, sites: &[SiteIo], now: Instant) {
        self.gw.step(host, sites, now);
        for t in 0..2 {
            if self.enabled(t) && !self.probing[t] && self.ready(t) {
                self.start_checks(t);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        // The checks' threads report without waking the loop: look often.
        let checks = (self.started > self.finished_checks())
            .then(|| Instant::now() + Duration::from_millis(50));
        [checks, self.gw.poll_timeout()].into_iter().flatten().min()
    }

    fn done(&self) -> bool {
        (0..2).all(|t| !self.enabled(t) || self.probing[t] || self.refused(t))
            && self.finished_checks() == self.started
    }
}

/// Runs `validate` with `cfg` (its `validate_timeout`), tears everything
/// down and returns the verdict.
pub fn run(cfg: &GatewayConfig, seed: [u8; 32]) -> Result<Verdict, DaemonError> {
    // `validate` pings its own targets; no keepalive besides.
    let cfg = &GatewayConfig {
        keepalive: None,
        ..cfg.clone()
    };
    super::runtime()?.block_on(async {
        let CgwSetup {
            mut host,
            sites,
            daemon,
        } = setup(cfg, seed).await?;
        let start = Instant::now();
        let mut v = Validator {
            gw: daemon,
            start,
            probing: [false; 2],
            started: 0,
            results: Arc::new(Mutex::new(Vec::new())),
        };
        let end = start + cfg.validate_timeout;
        crate::os::host_loop::run(&mut host, &sites, &mut v, Some(end), std::future::pending())
            .await?;
        // Checks still running count as failed (not tried or timed out).
        let verdict = v.verdict(Instant::now().min(end));
        crate::os::host_loop::close(&mut host, &sites, &mut v, super::SHUTDOWN_GRACE).await?;
        super::Withdraw::withdraw_routes(&mut v);
        Ok(verdict)
    })
}

/// What a check result says in JSON (for `--json`).
pub fn to_json(v: &Verdict) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
