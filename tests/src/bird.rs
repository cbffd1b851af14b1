//! A BIRD 2 daemon in a network namespace, driven through birdc.
//!
//! Recipe (REAL-PEERS.md): `bird -f -c DIR/bird.conf -s DIR/bird.ctl` runs in
//! the foreground inside the namespace with its own config, control socket
//! and log file; `birdc -s DIR/bird.ctl CMD` queries it (the control socket
//! is a plain Unix socket, so birdc itself runs outside the namespace).
//!
//! One BGP protocol per daemon (named [`BirdConfig::name`], `peer` by
//! default) with an IPv4 channel (and optionally IPv6) that imports
//! everything and exports the routes of a static protocol (`lan4` /
//! `lan6`, blackhole routes). eBGP needs these explicit filters (RFC 8212).
//! [`Bird::add_static`] / [`Bird::remove_static`] rewrite the config and
//! run `birdc configure`, which announces / withdraws at once.

use crate::netns::{check_lab_prefix, check_lab_prefix6, is_lab_ip, Netns};
use crate::proc::{self, Daemon, Output, TestDir};
use crate::require;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What BIRD does when a channel's `receive limit` is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitAction {
    /// Log a warning only.
    Warn,
    /// Drop the routes past the limit.
    Block,
    /// Restart the session (Cease 6/1 to the peer, then reconnect).
    Restart,
    /// Disable the protocol (Cease 6/1 to the peer, stay down).
    Disable,
}

impl LimitAction {
    fn keyword(self) -> &'static str {
        match self {
            LimitAction::Warn => "warn",
            LimitAction::Block => "block",
            LimitAction::Restart => "restart",
            LimitAction::Disable => "disable",
        }
    }
}

/// Everything that goes into `bird.conf`.
#[derive(Debug, Clone)]
pub struct BirdConfig {
    /// The BGP protocol's name (`show protocols all NAME`).
    pub name: String,
    pub router_id: Ipv4Addr,
    /// Our address for the session (`local ADDR as ASN`), IPv4 or IPv6.
    pub local_addr: IpAddr,
    pub local_as: u32,
    pub neighbor_addr: IpAddr,
    pub neighbor_as: u32,
    /// `hold time` in seconds (AWS: 30).
    pub hold_time: u16,
    /// `keepalive time` in seconds (AWS: 10).
    pub keepalive_time: u16,
    /// `connect retry time` in seconds (BIRD's default is 120).
    pub connect_retry: u16,
    /// `connect delay time` in seconds (BIRD's default is 5).
    pub connect_delay: u16,
    /// `error wait time MIN, MAX`: the delay before restarting after an
    /// error (BIRD's default 60, 300); `None` keeps the default.
    pub error_wait: Option<(u16, u16)>,
    /// `passive on`: never connect, only accept.
    pub passive: bool,
    /// Open an IPv4 unicast channel.
    pub ipv4: bool,
    /// Open an IPv6 unicast channel (multiprotocol over the IPv4 session).
    pub ipv6: bool,
    /// `next hop address` for the IPv6 channel (an IPv4 session has no
    /// IPv6 source address to use).
    pub ipv6_next_hop: Option<Ipv6Addr>,
    /// `receive limit N action A` on the IPv4 (and IPv6) channel: BIRD
    /// counts the prefixes it receives from the peer.
    pub receive_limit: Option<(u32, LimitAction)>,
    /// IPv4 and IPv6 prefixes (text, e.g. `"198.18.1.0/24"`) BIRD
    /// originates (blackhole routes in `lan4` / `lan6`).
    pub static_routes: Vec<String>,
    /// Extra raw lines for the BGP protocol block.
    pub extra_bgp: Vec<String>,
    /// Extra raw top-level blocks appended to bird.conf (more protocols:
    /// a `kernel` protocol, a second BGP session...).
    pub extra_config: Vec<String>,
}

impl BirdConfig {
    /// An eBGP session with AWS's timers (hold 30, keepalive 10), IPv4 only,
    /// connect delay and retry of 1 s so tests need not wait BIRD's 5 s.
    pub fn new(
        local_addr: Ipv4Addr,
        local_as: u32,
        neighbor_addr: Ipv4Addr,
        neighbor_as: u32,
    ) -> BirdConfig {
        BirdConfig {
            name: "peer".into(),
            router_id: local_addr,
            local_addr: local_addr.into(),
            local_as,
            neighbor_addr: neighbor_addr.into(),
            neighbor_as,
            hold_time: 30,
            keepalive_time: 10,
            connect_retry: 1,
            connect_delay: 1,
            error_wait: None,
            passive: false,
            ipv4: true,
            ipv6: false,
            ipv6_next_hop: None,
            receive_limit: None,
            static_routes: Vec::new(),
            extra_bgp: Vec::new(),
            extra_config: Vec::new(),
        }
    }

    /// An eBGP session over IPv6 (`local`/`neighbor` IPv6 addresses) with
    /// an IPv6 unicast channel only, as on an IPv6 VPN tunnel; otherwise
    /// as [`BirdConfig::new`]. `router_id` stays an IPv4 address.
    pub fn new_v6(
        router_id: Ipv4Addr,
        local_addr: Ipv6Addr,
        local_as: u32,
        neighbor_addr: Ipv6Addr,
        neighbor_as: u32,
    ) -> BirdConfig {
        let mut c = BirdConfig::new(router_id, local_as, router_id, neighbor_as);
        c.local_addr = local_addr.into();
        c.neighbor_addr = neighbor_addr.into();
        c.ipv4 = false;
        c.ipv6 = true;
        c
    }

    fn static_of(&self, v6: bool) -> Vec<&str> {
        self.static_routes
            .iter()
            .map(String::as_str)
            .filter(|p| p.contains(':') == v6)
            .collect()
    }

    /// The text of `bird.conf` for a daemon whose files live in `dir`.
    pub fn bird_conf(&self, dir: &Path) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# generated by cgw-sim-tests (bird.rs)");
        let _ = writeln!(s, "log \"{}\" all;", dir.join("bird.log").display());
        let _ = writeln!(s, "router id {};", self.router_id);
        let _ = writeln!(s, "protocol device {{ scan time 10; }}");
        for (v6, name, chan) in [(false, "lan4", "ipv4"), (true, "lan6", "ipv6")] {
            let routes = self.static_of(v6);
            let _ = writeln!(s, "protocol static {name} {{\n  {chan};");
            for r in routes {
                let _ = writeln!(s, "  route {r} blackhole;");
            }
            let _ = writeln!(s, "}}");
        }
        let _ = writeln!(s, "protocol bgp {} {{", self.name);
        let _ = writeln!(s, "  local {} as {};", self.local_addr, self.local_as);
        let _ = writeln!(
            s,
            "  neighbor {} as {};",
            self.neighbor_addr, self.neighbor_as
        );
        let _ = writeln!(s, "  hold time {};", self.hold_time);
        let _ = writeln!(s, "  keepalive time {};", self.keepalive_time);
        let _ = writeln!(s, "  connect retry time {};", self.connect_retry);
        let _ = writeln!(s, "  connect delay time {};", self.connect_delay);
        if let Some((lo, hi)) = self.error_wait {
            let _ = writeln!(s, "  error wait time {lo}, {hi};");
        }
        if self.passive {
            let _ = writeln!(s, "  passive on;");
        }
        for l in &self.extra_bgp {
            let _ = writeln!(s, "  {l}");
        }
        let limit = self
            .receive_limit
            .map(|(n, a)| format!("    receive limit {n} action {};\n", a.keyword()))
            .unwrap_or_default();
        if self.ipv4 {
            let _ = write!(
                s,
                "  ipv4 {{\n    import all;\n    export where proto = \"lan4\";\n{limit}  }};\n"
            );
        }
        if self.ipv6 {
            let nh = self
                .ipv6_next_hop
                .map(|a| format!("    next hop address {a};\n"))
                .unwrap_or_default();
            let _ = write!(
                s,
                "  ipv6 {{\n    import all;\n    export where proto = \"lan6\";\n{nh}{limit}  }};\n"
            );
        }
        let _ = writeln!(s, "}}");
        for block in &self.extra_config {
            let _ = writeln!(s, "{block}");
        }
        s
    }
}

/// Panics unless `prefix` is a lab IPv4 prefix or inside the lab's IPv6
/// ranges (fd00::/8, 2001:db8::/32).
#[track_caller]
pub fn check_route_prefix(prefix: &str) {
    if prefix.contains(':') {
        check_lab_prefix6(prefix);
    } else {
        check_lab_prefix(prefix);
    }
}

/// A running BIRD in a namespace. Stopped (by its PID) on drop.
pub struct Bird {
    cfg: BirdConfig,
    ns: Netns,
    dir: TestDir,
    daemon: Daemon,
}

/// How long to wait for the control socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of bird.log put into failure messages.
const TAIL_LINES: usize = 40;

impl Bird {
    /// Write bird.conf, start `bird -f` in `ns`, wait until birdc answers on
    /// the control socket. Panics (with the log tail) on failure.
    pub fn start(ns: &Netns, cfg: BirdConfig) -> Bird {
        require::bird();
        for a in [cfg.local_addr, cfg.neighbor_addr, cfg.router_id.into()] {
            assert!(is_lab_ip(a), "{a} outside the lab plan");
        }
        for r in &cfg.static_routes {
            check_route_prefix(r);
        }
        let bird_bin = require::binary("bird");
        let dir = TestDir::new(&format!("bird-as{}", cfg.local_as));
        let conf = dir.join("bird.conf");
        std::fs::write(&conf, cfg.bird_conf(dir.path())).expect("write bird.conf");
        let conf_s = conf.display().to_string();
        let ctl_s = dir.join("bird.ctl").display().to_string();
        let daemon = Daemon::spawn(
            "bird",
            &[
                "ip",
                "netns",
                "exec",
                ns.name(),
                bird_bin.to_str().expect("utf-8 path"),
                "-f",
                "-c",
                &conf_s,
                "-s",
                &ctl_s,
            ],
            &[],
            &dir.join("bird.out"),
            "bird",
            Duration::from_secs(5),
        );
        let mut b = Bird {
            cfg,
            ns: ns.clone(),
            dir,
            daemon,
        };
        let ctl = b.dir.join("bird.ctl");
        let up = proc::wait_until(START_TIMEOUT, Duration::from_millis(50), || {
            if !b.daemon.is_running() {
                return Some(false);
            }
            if !ctl.exists() {
                return None;
            }
            let o = b.birdc("show status");
            (o.success() && o.stdout.contains("Daemon is up and running")).then_some(true)
        });
        match up {
            Some(true) => b,
            Some(false) => panic!("bird exited during startup\n{}", b.failure_context()),
            None => panic!(
                "bird did not answer on its control socket within {START_TIMEOUT:?}\n{}",
                b.failure_context()
            ),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &BirdConfig {
        &self.cfg
    }

    /// The namespace it runs in.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The daemon's PID.
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        self.daemon.is_running()
    }

    /// Directory with bird.conf, bird.ctl, bird.log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// BIRD's log file (`log ... all`).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("bird.log")
    }

    /// The whole log.
    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// A block for failure messages: PID, files, log tail, stdout.
    pub fn failure_context(&self) -> String {
        format!(
            "bird pid {} in {} (files in {}):\n--- bird.log (last {TAIL_LINES} lines)\n{}\n--- bird.out\n{}",
            self.daemon.pid(),
            self.ns.name(),
            self.dir().display(),
            proc::tail(&self.log_path(), TAIL_LINES),
            proc::tail(&self.dir.join("bird.out"), 20),
        )
    }

    /// `birdc -s CTL CMD...` (the command split on whitespace), 20 s limit.
    pub fn birdc(&self, cmd: &str) -> Output {
        let ctl = self.dir.join("bird.ctl").display().to_string();
        let mut argv = vec!["birdc", "-s", ctl.as_str()];
        argv.extend(cmd.split_whitespace());
        proc::run(&argv, &[], Duration::from_secs(20))
    }

    /// [`Bird::birdc`], panicking unless birdc exits 0; returns stdout.
    #[track_caller]
    pub fn birdc_ok(&self, cmd: &str) -> String {
        let o = self.birdc(cmd);
        if !o.success() {
            panic!("{o}\n{}", self.failure_context());
        }
        o.stdout
    }

    /// The BGP protocol's state from `show protocols all NAME`.
    #[track_caller]
    pub fn protocol_state(&self) -> ProtocolState {
        let out = self.birdc_ok(&format!("show protocols all {}", self.cfg.name));
        parse_protocol(&out).unwrap_or_else(|| {
            panic!(
                "cannot parse `show protocols all {}`:\n{out}",
                self.cfg.name
            )
        })
    }

    /// Every route in every table, from `show route all`.
    #[track_caller]
    pub fn routes(&self) -> Vec<BirdRoute> {
        parse_routes(&self.birdc_ok("show route all"))
    }

    /// Routes learned over BGP (from the BGP protocol).
    pub fn bgp_routes(&self) -> Vec<BirdRoute> {
        let name = self.cfg.name.clone();
        self.routes()
            .into_iter()
            .filter(|r| r.proto == name)
            .collect()
    }

    /// Wait until the BGP state is `Established` (panics with context after
    /// `timeout`); returns the state.
    #[track_caller]
    pub fn wait_established(&self, timeout: Duration) -> ProtocolState {
        self.wait_state(timeout, "Established", |s| s.is_established())
    }

    /// Wait until `pred` holds for the protocol state; panics after
    /// `timeout` with the last state and the log.
    #[track_caller]
    pub fn wait_state(
        &self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&ProtocolState) -> bool,
    ) -> ProtocolState {
        let mut last = None;
        let r = proc::wait_until(timeout, Duration::from_millis(100), || {
            let s = self.protocol_state();
            let ok = pred(&s);
            last = Some(s.clone());
            ok.then_some(s)
        });
        r.unwrap_or_else(|| {
            panic!(
                "bird: not {what} within {timeout:?}; last state {last:#?}\n{}",
                self.failure_context()
            )
        })
    }

    /// Wait until `pred` holds for the BGP-learned routes; panics after
    /// `timeout` with the routes and the log.
    #[track_caller]
    pub fn wait_bgp_routes(
        &self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&[BirdRoute]) -> bool,
    ) -> Vec<BirdRoute> {
        let mut last = Vec::new();
        let r = proc::wait_until(timeout, Duration::from_millis(100), || {
            let rs = self.bgp_routes();
            let ok = pred(&rs);
            last = rs.clone();
            ok.then_some(rs)
        });
        r.unwrap_or_else(|| {
            panic!(
                "bird: routes not {what} within {timeout:?}; last {last:#?}\n{}",
                self.failure_context()
            )
        })
    }

    /// Originate `prefix` (blackhole in the static protocol) and announce it.
    #[track_caller]
    pub fn add_static(&mut self, prefix: &str) {
        self.add_statics(&[prefix]);
    }

    /// Originate several prefixes with one reconfiguration.
    #[track_caller]
    pub fn add_statics(&mut self, prefixes: &[&str]) {
        for p in prefixes {
            check_route_prefix(p);
            if !self.cfg.static_routes.iter().any(|r| r == p) {
                self.cfg.static_routes.push(p.to_string());
            }
        }
        self.reconfigure();
    }

    /// Stop originating `prefix` (BIRD withdraws it).
    #[track_caller]
    pub fn remove_static(&mut self, prefix: &str) {
        self.remove_statics(&[prefix]);
    }

    /// Stop originating several prefixes with one reconfiguration.
    #[track_caller]
    pub fn remove_statics(&mut self, prefixes: &[&str]) {
        self.cfg
            .static_routes
            .retain(|r| !prefixes.contains(&r.as_str()));
        self.reconfigure();
    }

    /// Rewrite bird.conf from the current config and `birdc configure`.
    #[track_caller]
    pub fn reconfigure(&mut self) {
        std::fs::write(
            self.dir.join("bird.conf"),
            self.cfg.bird_conf(self.dir.path()),
        )
        .expect("write bird.conf");
        let out = self.birdc_ok("configure");
        assert!(
            out.contains("Reconfigured") || out.contains("Reconfiguration in progress"),
            "birdc configure: {out}\n{}",
            self.failure_context()
        );
    }

    /// Stop BIRD gracefully (SIGTERM to its PID; it sends Cease to peers).
    pub fn stop(&mut self) {
        self.daemon.signal(libc::SIGCONT);
        self.daemon.stop();
    }

    /// Freeze BIRD (SIGSTOP to its PID): its TCP connections stay open but
    /// nothing more is sent or answered, as a peer behind a tunnel that
    /// went dark. The peer's hold timer expires. [`Bird::thaw`] resumes it.
    pub fn freeze(&mut self) {
        assert!(
            self.daemon.signal(libc::SIGSTOP),
            "cannot SIGSTOP bird pid {}",
            self.pid()
        );
    }

    /// Resume a frozen BIRD (SIGCONT).
    pub fn thaw(&mut self) {
        self.daemon.signal(libc::SIGCONT);
    }

    /// Kill BIRD at once (SIGKILL to its PID): it vanishes without a
    /// NOTIFICATION, as a peer behind a dead tunnel.
    pub fn kill(&mut self) {
        self.daemon.stop_with(libc::SIGKILL);
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.failure_context());
        }
        // a frozen BIRD would sit on SIGTERM until the grace period ends
        self.daemon.signal(libc::SIGCONT);
        self.daemon.stop();
    }
}

// ---------------------------------------------------------------------------
// show protocols all NAME

/// A protocol as `show protocols all NAME` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtocolState {
    pub name: String,
    /// `BGP`, `Static`, ...
    pub proto: String,
    /// `up`, `start`, `down`, ...
    pub state: String,
    pub since: String,
    /// The Info column (`Established`, `Active  Received: ...`, ...).
    pub info: String,
    /// `BGP state:` (Idle, Connect, Active, OpenSent, OpenConfirm,
    /// Established, Down).
    pub bgp_state: Option<String>,
    pub neighbor_address: Option<String>,
    pub neighbor_as: Option<u32>,
    pub local_as: Option<u32>,
    pub neighbor_id: Option<String>,
    /// `Last error:` (e.g. `Received: Maximum number of prefixes reached`,
    /// `Error: Hold timer expired`).
    pub last_error: Option<String>,
    /// The negotiated hold time (from `Hold timer: 24.3/30`).
    pub hold_time: Option<u32>,
    /// The negotiated keepalive time.
    pub keepalive_time: Option<u32>,
    /// Per channel (`ipv4`, `ipv6`): imported and exported route counts.
    pub channels: BTreeMap<String, ChannelState>,
    /// Every `key: value` line, in order (keys trimmed).
    pub fields: Vec<(String, String)>,
}

/// One channel block of `show protocols all`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelState {
    /// `State:` (UP, DOWN, ...).
    pub state: String,
    pub imported: u32,
    pub exported: u32,
}

impl ProtocolState {
    /// BGP state Established.
    pub fn is_established(&self) -> bool {
        self.bgp_state.as_deref() == Some("Established")
    }

    /// Info and last error together (what BIRD said last about the session).
    pub fn messages(&self) -> String {
        format!(
            "{} / {}",
            self.info,
            self.last_error.as_deref().unwrap_or("")
        )
    }
}

fn column(line: &str, from: usize, to: Option<usize>) -> String {
    let end = to.unwrap_or(line.len()).min(line.len());
    line.get(from.min(end)..end)
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Parse `birdc show protocols all NAME` (first protocol only).
pub fn parse_protocol(text: &str) -> Option<ProtocolState> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("Name "));
    let header = lines.next()?;
    let row = lines.next()?;
    let col = |n: &str| header.find(n);
    let (proto_c, table_c, state_c, since_c) =
        (col("Proto")?, col("Table")?, col("State")?, col("Since")?);
    let mut p = ProtocolState {
        name: column(row, 0, Some(proto_c)),
        proto: column(row, proto_c, Some(table_c)),
        state: column(row, state_c, Some(since_c)),
        ..ProtocolState::default()
    };
    // Since is one token (a time) or two (date and time) and may be wider
    // than its header; Info is the rest
    let rest = column(row, since_c, None);
    let mut parts = rest.split_whitespace();
    let first = parts.next().unwrap_or("");
    let n = if first.len() == 10 && first.as_bytes().get(4) == Some(&b'-') {
        2
    } else {
        1
    };
    let mut since = first.to_string();
    let mut tail = rest.get(first.len()..).unwrap_or("").trim_start();
    if n == 2 {
        let second = tail.split_whitespace().next().unwrap_or("");
        since = format!("{first} {second}");
        tail = tail.get(second.len()..).unwrap_or("").trim_start();
    }
    p.since = since;
    p.info = tail.trim_end().to_string();
    let mut channel: Option<String> = None;
    for l in lines {
        let t = l.trim();
        if let Some(c) = t.strip_prefix("Channel ") {
            channel = Some(c.trim().to_string());
            p.channels.entry(c.trim().to_string()).or_default();
            continue;
        }
        let Some((k, v)) = t.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        if let Some(c) = &channel {
            let ch = p.channels.entry(c.clone()).or_default();
            match k.as_str() {
                "State" => ch.state = v.clone(),
                "Routes" => {
                    // "1 imported, 1 exported, 1 preferred"
                    for part in v.split(',') {
                        let mut w = part.split_whitespace();
                        let n = w.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                        match w.next() {
                            Some("imported") => ch.imported = n,
                            Some("exported") => ch.exported = n,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        } else {
            let secs = |v: &str| v.rsplit('/').next().and_then(|n| n.trim().parse().ok());
            match k.as_str() {
                "BGP state" => p.bgp_state = Some(v.clone()),
                "Neighbor address" => p.neighbor_address = Some(v.clone()),
                "Neighbor AS" => p.neighbor_as = v.parse().ok(),
                "Local AS" => p.local_as = v.parse().ok(),
                "Neighbor ID" => p.neighbor_id = Some(v.clone()),
                "Last error" => p.last_error = Some(v.clone()),
                "Hold timer" => p.hold_time = secs(&v),
                "Keepalive timer" => p.keepalive_time = secs(&v),
                _ => {}
            }
        }
        p.fields.push((k, v));
    }
    Some(p)
}

// ---------------------------------------------------------------------------
// show route all

/// One route as `show route all` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BirdRoute {
    /// `master4`, `master6`.
    pub table: String,
    /// `198.18.1.0/24`.
    pub prefix: String,
    /// `unicast`, `blackhole`, `unreachable`, ...
    pub kind: String,
    /// The protocol that made it (`peer`, `lan4`).
    pub proto: String,
    /// Marked `*` (the best route for the prefix).
    pub best: bool,
    /// `via ADDR on IF`.
    pub via: Option<IpAddr>,
    pub iface: Option<String>,
    /// `BGP.as_path`, flattened (sets included).
    pub as_path: Vec<u32>,
    /// `BGP.as_path` as BIRD prints it.
    pub as_path_text: Option<String>,
    /// `BGP.next_hop`.
    pub next_hop: Option<String>,
    /// `BGP.med`.
    pub med: Option<u32>,
    /// `BGP.origin` (IGP, EGP, Incomplete).
    pub origin: Option<String>,
    /// Every `key: value` attribute line.
    pub attrs: Vec<(String, String)>,
}

fn route_head(table: &str, prefix: &str, rest: &str) -> BirdRoute {
    // "unicast [peer 2024-01-01 21:01:48.238] * (100) [AS64512i]"
    let mut r = BirdRoute {
        table: table.to_string(),
        prefix: prefix.to_string(),
        ..BirdRoute::default()
    };
    let rest = rest.trim();
    let (kind, after) = rest.split_once('[').unwrap_or((rest, ""));
    r.kind = kind.trim().to_string();
    r.proto = after.split_whitespace().next().unwrap_or("").to_string();
    if let Some((_, tail)) = after.split_once(']') {
        r.best = tail.trim_start().starts_with('*');
    }
    r
}

/// Parse `birdc show route all` (also plain `show route`).
pub fn parse_routes(text: &str) -> Vec<BirdRoute> {
    let mut out: Vec<BirdRoute> = Vec::new();
    let mut table = String::new();
    let mut last_prefix = String::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with("BIRD ") {
            continue;
        }
        if let Some(t) = line.strip_prefix("Table ") {
            table = t.trim_end_matches(':').trim().to_string();
            continue;
        }
        if line.starts_with('\t') {
            let Some(r) = out.last_mut() else { continue };
            let t = line.trim();
            if let Some(v) = t.strip_prefix("via ") {
                let mut w = v.split_whitespace();
                r.via = w.next().and_then(|a| a.parse().ok());
                if w.next() == Some("on") {
                    r.iface = w.next().map(str::to_string);
                }
            } else if let Some((k, v)) = t.split_once(':') {
                // IPv6 addresses contain ':'; attribute keys never start
                // with a hex digit followed by ':' ... keys are words.
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                match k.as_str() {
                    "BGP.as_path" => {
                        r.as_path = v
                            .split(|c: char| !c.is_ascii_digit())
                            .filter_map(|n| n.parse().ok())
                            .collect();
                        r.as_path_text = Some(v.clone());
                    }
                    "BGP.next_hop" => r.next_hop = Some(v.clone()),
                    "BGP.med" => r.med = v.parse().ok(),
                    "BGP.origin" => r.origin = Some(v.clone()),
                    _ => {}
                }
                r.attrs.push((k, v));
            }
            continue;
        }
        if line.starts_with(' ') {
            // another route for the previous prefix
            out.push(route_head(&table, &last_prefix, line));
            continue;
        }
        let (prefix, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        last_prefix = prefix.to_string();
        out.push(route_head(&table, prefix, rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTO: &str = "BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
peer       BGP        ---        up     21:01:48.134  Established   
  BGP state:          Established
    Neighbor address: 169.254.10.2
    Neighbor AS:      64512
    Local AS:         65000
    Neighbor ID:      169.254.10.2
    Local capabilities
      Multiprotocol
        AF announced: ipv4
      4-octet AS numbers
    Session:          external AS4
    Source address:   169.254.10.1
    Hold timer:       24.290/30
    Keepalive timer:  5.713/10
  Channel ipv4
    State:          UP
    Table:          master4
    Receive limit:  100
      Action:       block
    Routes:         1 imported, 2 exported, 1 preferred
    BGP Next hop:   169.254.10.1
";

    #[test]
    fn parses_protocol() {
        let p = parse_protocol(PROTO).unwrap();
        assert_eq!(p.name, "peer");
        assert_eq!(p.proto, "BGP");
        assert_eq!(p.state, "up");
        assert_eq!(p.info, "Established");
        assert!(p.is_established());
        assert_eq!(p.neighbor_as, Some(64512));
        assert_eq!(p.local_as, Some(65000));
        assert_eq!(p.hold_time, Some(30));
        assert_eq!(p.keepalive_time, Some(10));
        assert_eq!(p.channels["ipv4"].imported, 1);
        assert_eq!(p.channels["ipv4"].exported, 2);
        assert_eq!(p.channels["ipv4"].state, "UP");
        assert_eq!(p.last_error, None);
    }

    #[test]
    fn parses_protocol_down_with_error_and_long_time() {
        let t = "BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
peer       BGP        ---        start  2026-11-24 21:01:57.335  Active        Received: Maximum number of prefixes reached
  BGP state:          Active
    Neighbor address: 169.254.10.1
    Connect delay:    0.890/1
    Last error:       Received: Maximum number of prefixes reached
  Channel ipv4
    State:          DOWN
";
        let p = parse_protocol(t).unwrap();
        assert_eq!(p.state, "start");
        assert_eq!(p.since, "2026-11-24 21:01:57.335");
        assert_eq!(
            p.info,
            "Active        Received: Maximum number of prefixes reached"
        );
        assert_eq!(p.bgp_state.as_deref(), Some("Active"));
        assert_eq!(
            p.last_error.as_deref(),
            Some("Received: Maximum number of prefixes reached")
        );
        assert_eq!(p.channels["ipv4"].state, "DOWN");
    }

    #[test]
    fn parses_routes() {
        let t = "BIRD 2.0.12 ready.
Table master4:
198.19.1.0/24        unicast [peer 2026-11-24 21:01:48.238] * (100) [AS4200000001i]
\tvia 169.254.10.2 on wan0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 4200000001 {65001 65002}
\tBGP.next_hop: 169.254.10.2
\tBGP.med: 5
\tBGP.local_pref: 100
                     unicast [peer2 2026-11-24 21:01:49.000] (100) [AS65000i]
\tvia 169.254.10.6 on wan1
\tBGP.as_path: 65000
198.18.1.0/24        blackhole [lan4 2026-11-24 21:01:47.282] * (200)
\tType: static univ
Table master6:
2001:db8:1::/48      unicast [peer 2026-11-24 21:01:48.238] * (100) [AS65000i]
\tvia 2001:db8::2 on wan0
\tBGP.next_hop: 2001:db8::2 fe80::1
";
        let r = parse_routes(t);
        assert_eq!(r.len(), 4, "{r:#?}");
        assert_eq!(r[0].prefix, "198.19.1.0/24");
        assert_eq!(r[0].kind, "unicast");
        assert_eq!(r[0].proto, "peer");
        assert!(r[0].best);
        assert_eq!(r[0].via, Some("169.254.10.2".parse().unwrap()));
        assert_eq!(r[0].iface.as_deref(), Some("wan0"));
        assert_eq!(r[0].as_path, vec![4200000001, 65001, 65002]);
        assert_eq!(r[0].med, Some(5));
        assert_eq!(r[0].origin.as_deref(), Some("IGP"));
        assert_eq!(r[1].prefix, "198.19.1.0/24");
        assert_eq!(r[1].proto, "peer2");
        assert!(!r[1].best);
        assert_eq!(r[2].kind, "blackhole");
        assert_eq!(r[2].proto, "lan4");
        assert_eq!(r[3].table, "master6");
        assert_eq!(r[3].prefix, "2001:db8:1::/48");
        assert_eq!(r[3].next_hop.as_deref(), Some("2001:db8::2 fe80::1"));
    }

    #[test]
    fn config_text() {
        let mut c = BirdConfig::new(
            Ipv4Addr::new(169, 254, 10, 1),
            64512,
            Ipv4Addr::new(169, 254, 10, 2),
            65000,
        );
        c.passive = true;
        c.receive_limit = Some((100, LimitAction::Restart));
        c.static_routes = vec!["198.19.0.0/16".into(), "2001:db8:1::/48".into()];
        c.ipv6 = true;
        let t = c.bird_conf(Path::new("/tmp/x"));
        assert!(t.contains("local 169.254.10.1 as 64512;"), "{t}");
        assert!(t.contains("neighbor 169.254.10.2 as 65000;"), "{t}");
        assert!(t.contains("passive on;"), "{t}");
        assert!(t.contains("receive limit 100 action restart;"), "{t}");
        assert!(t.contains("route 198.19.0.0/16 blackhole;"), "{t}");
        assert!(t.contains("route 2001:db8:1::/48 blackhole;"), "{t}");
        assert!(t.contains("connect delay time 1;"), "{t}");
    }
}
