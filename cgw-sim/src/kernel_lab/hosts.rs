//! Real hosts in the kernel lab's namespaces: the kernel's `ping` (iputils)
//! run inside a namespace with bounded count and time, and a TCP listener
//! and client on kernel sockets, with the outcomes and timings the
//! scenario's `ping` and `tcp` expectations judge (`runner::eval`): a
//! reply, no reply, or "fragmentation needed"; connected (every byte
//! acknowledged), refused, or no answer.
//!
//! The TCP exchange: the client sends a 4-byte big-endian length and that
//! many bytes; the listener answers with the 4-byte count it read, which
//! is how the client knows every byte arrived.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lab::kernel::Netns;

use super::{KernelLabError, Result};

/// A bounded ping run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingRequest {
    /// Target address.
    pub to: Ipv4Addr,
    /// Echo requests to send (1 to 1000).
    pub count: u16,
    /// Between requests (at least 10 ms).
    pub interval: Duration,
    /// ICMP data bytes (ping's `-s`; the scenario's default is 56).
    pub size: u16,
    /// Set don't-fragment (`-M do`), else let the kernel fragment (`-M dont`).
    pub df: bool,
    /// Source address (one the namespace holds), default the route's.
    pub source: Option<Ipv4Addr>,
    /// Hard limit on the whole run (ping's `-w`; the process is killed
    /// 2 s after it if still running).
    pub deadline: Duration,
}

impl PingRequest {
    /// `count` pings of 56 bytes to `to`, one per 200 ms, DF clear, with a
    /// deadline of the sending time plus 2 s.
    pub fn new(to: Ipv4Addr, count: u16) -> PingRequest {
        let interval = Duration::from_millis(200);
        PingRequest {
            to,
            count,
            interval,
            size: 56,
            df: false,
            source: None,
            deadline: interval * u32::from(count) + Duration::from_secs(2),
        }
    }
}

/// One echo request and what came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingProbe {
    /// ICMP sequence number (from 1).
    pub seq: u16,
    /// Round-trip time, when a reply came.
    pub rtt: Option<Duration>,
    /// The MTU an ICMP "fragmentation needed" (or the local stack, for
    /// DF packets over the first hop's MTU) named instead of a reply.
    pub frag_needed: Option<u32>,
}

/// The outcome of a ping run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingReport {
    /// Echo requests ping reported sent.
    pub transmitted: u16,
    /// Every request sent, in order.
    pub probes: Vec<PingProbe>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// ping's error output when it reported one (e.g. "Network is
    /// unreachable", a local "message too long").
    pub error: Option<String>,
}

impl PingReport {
    /// Replies received.
    pub fn replies(&self) -> usize {
        self.probes.iter().filter(|p| p.rtt.is_some()).count()
    }

    /// Whether any "fragmentation needed" came back.
    pub fn frag_needed(&self) -> bool {
        self.probes.iter().any(|p| p.frag_needed.is_some())
    }
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(key)? + key.len()..];
    Some(rest.split_whitespace().next().unwrap_or(rest))
}

/// Read ping's (iputils, `-n`) output into probes.
fn parse_ping(stdout: &str, stderr: &str, count: u16) -> (u16, Vec<PingProbe>) {
    let mut probes: Vec<PingProbe> = (1..=count)
        .map(|seq| PingProbe {
            seq,
            rtt: None,
            frag_needed: None,
        })
        .collect();
    let mut transmitted = 0;
    let mut local_mtu = None;
    for line in stdout.lines().chain(stderr.lines()) {
        if let Some(n) = line
            .find(" packets transmitted")
            .and_then(|i| line[..i].trim().parse().ok())
        {
            transmitted = n;
        }
        if let Some(mtu) = line
            .contains("message too long")
            .then(|| field(line, "mtu="))
            .flatten()
        {
            local_mtu = mtu.trim_end_matches(',').parse().ok();
            continue;
        }
        let Some(seq) = field(line, "icmp_seq=").and_then(|s| s.parse::<u16>().ok()) else {
            continue;
        };
        let Some(p) = probes.iter_mut().find(|p| p.seq == seq) else {
            continue;
        };
        if line.contains(" bytes from ") {
            if let Some(ms) = field(line, "time=").and_then(|t| t.parse::<f64>().ok()) {
                p.rtt = Some(Duration::from_secs_f64(ms / 1000.0));
            }
        } else if line.contains("Frag needed") {
            let mtu = line
                .rsplit_once("mtu = ")
                .and_then(|(_, m)| m.trim_end_matches(')').trim().parse().ok());
            p.frag_needed = Some(mtu.unwrap_or(0));
        }
    }
    // A DF packet over the first hop's MTU never leaves: ping reports it
    // once per request without a sequence number.
    if let Some(mtu) = local_mtu {
        for p in probes.iter_mut().take(usize::from(transmitted.max(1))) {
            p.frag_needed.get_or_insert(mtu);
        }
    }
    probes.truncate(usize::from(transmitted));
    (transmitted, probes)
}

/// Run the kernel's `ping` inside `ns`. The run is bounded by
/// `req.deadline` (ping's own `-w`, and a kill 2 s later). No reply is a
/// report with no replies, not an error; an error is only failing to run
/// ping at all.
pub fn ping(ns: &Netns, req: &PingRequest) -> Result<PingReport> {
    if req.count == 0 || req.count > 1000 {
        return Err(KernelLabError::BadFault(format!(
            "ping count {} (1 to 1000)",
            req.count
        )));
    }
    let interval = req.interval.max(Duration::from_millis(10));
    let deadline = req.deadline.max(Duration::from_secs(1));
    let mut args = vec![
        "-n".to_string(),
        "-c".into(),
        req.count.to_string(),
        "-i".into(),
        format!("{:.3}", interval.as_secs_f64()),
        "-W".into(),
        "2".into(),
        "-w".into(),
        deadline.as_secs().max(1).to_string(),
        "-s".into(),
        req.size.to_string(),
        "-M".into(),
        if req.df { "do" } else { "dont" }.into(),
    ];
    if let Some(src) = req.source {
        args.extend(["-I".into(), src.to_string()]);
    }
    args.push(req.to.to_string());
    let started = Instant::now();
    let child = ns
        .run(|| {
            Command::new("ping")
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })?
        .map_err(|e| KernelLabError::io("running ping (is iputils-ping installed?)", e))?;
    let out = wait_bounded(child, deadline + Duration::from_secs(2))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (transmitted, probes) = parse_ping(&stdout, &stderr, req.count);
    let error = (!stderr.trim().is_empty()).then(|| stderr.trim().to_string());
    Ok(PingReport {
        transmitted,
        probes,
        elapsed: started.elapsed(),
        error,
    })
}

/// Wait for our child with a limit; kill it (by its PID, through the
/// handle) when it overruns.
fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Result<std::process::Output> {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= until => {
                let _ = child.kill();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(KernelLabError::io("waiting for ping", e)),
        }
    }
    child
        .wait_with_output()
        .map_err(|e| KernelLabError::io("reading ping's output", e))
}

/// The most the listener accepts in one transfer (16 MiB).
pub const MAX_TRANSFER: u32 = 16 << 20;

/// A TCP listener on a kernel socket inside a namespace, served by a
/// thread until dropped: each connection sends a 4-byte big-endian length
/// and that many bytes, and gets back the 4-byte count read.
#[derive(Debug)]
pub struct TcpListenerHost {
    addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

impl TcpListenerHost {
    /// Listen on `addr:port` inside `ns` (port 0: any free port).
    pub fn start(ns: &Netns, addr: Ipv4Addr, port: u16) -> Result<TcpListenerHost> {
        let listener = ns
            .run(|| TcpListener::bind(SocketAddrV4::new(addr, port)))?
            .map_err(|e| {
                KernelLabError::io(format!("listening on {addr}:{port} in {}", ns.name()), e)
            })?;
        let local = match listener.local_addr() {
            Ok(std::net::SocketAddr::V4(a)) => a,
            Ok(other) => {
                return Err(KernelLabError::io(
                    "listener address",
                    std::io::Error::other(format!("not IPv4: {other}")),
                ))
            }
            Err(e) => return Err(KernelLabError::io("listener address", e)),
        };
        listener
            .set_nonblocking(true)
            .map_err(|e| KernelLabError::io("making the listener non-blocking", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU32::new(0));
        let (s2, n2) = (stop.clone(), served.clone());
        // The socket belongs to the namespace since its creation: the
        // serving thread needs no setns.
        let thread = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = serve(conn, &n2);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(TcpListenerHost {
            addr: local,
            stop,
            served,
            thread: Some(thread),
        })
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// Transfers read to the end (length and every byte announced).
    pub fn served(&self) -> u32 {
        self.served.load(Ordering::Relaxed)
    }
}

/// One connection: read the length and the bytes, count a complete
/// transfer in `served` (before answering, so a client holding the answer
/// sees it counted), answer the count. Each read is bounded by a 10 s
/// timeout.
fn serve(mut conn: TcpStream, served: &AtomicU32) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut len = [0u8; 4];
    conn.read_exact(&mut len)?;
    let want = u32::from_be_bytes(len).min(MAX_TRANSFER);
    let mut got = 0u32;
    let mut buf = [0u8; 16 * 1024];
    while got < want {
        let chunk = buf.len().min((want - got) as usize);
        let n = conn.read(&mut buf[..chunk])?;
        if n == 0 {
            break;
        }
        got += n as u32;
    }
    if got == want {
        served.fetch_add(1, Ordering::Relaxed);
    }
    conn.write_all(&got.to_be_bytes())
}

impl Drop for TcpListenerHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A bounded TCP transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRequest {
    /// The listener.
    pub to: SocketAddrV4,
    /// Bytes to send after the handshake (0: the handshake and the
    /// length exchange only).
    pub bytes: u32,
    /// Limit on the handshake (the scenario runner's is 3 s).
    pub connect_timeout: Duration,
    /// Limit on the whole transfer after the handshake (the runner's is 10 s).
    pub deadline: Duration,
}

/// How a TCP attempt ended, as a `tcp` expectation judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOutcome {
    /// Handshake done and every byte acknowledged by the listener.
    Connected,
    /// The handshake drew a RST.
    Refused,
    /// No answer (or not every byte acknowledged) in time.
    Timeout,
}

/// The result of a TCP transfer, with timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpReport {
    /// How it ended.
    pub outcome: TcpOutcome,
    /// Handshake time, when it completed.
    pub connect_time: Option<Duration>,
    /// From the handshake to the listener's acknowledgement of every byte.
    pub transfer_time: Option<Duration>,
    /// Bytes the listener acknowledged.
    pub acked: u32,
    /// The OS error behind a refusal or a timeout.
    pub detail: Option<String>,
}

/// Connect from `ns` to a [`TcpListenerHost`] and transfer `req.bytes`,
/// bounded by `req.connect_timeout` and `req.deadline`.
pub fn tcp_transfer(ns: &Netns, req: &TcpRequest) -> Result<TcpReport> {
    let started = Instant::now();
    let timeout = req.connect_timeout.max(Duration::from_millis(1));
    let conn = ns.run(|| TcpStream::connect_timeout(&req.to.into(), timeout))?;
    let mut report = TcpReport {
        outcome: TcpOutcome::Timeout,
        connect_time: None,
        transfer_time: None,
        acked: 0,
        detail: None,
    };
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => {
            if e.kind() == ErrorKind::ConnectionRefused {
                report.outcome = TcpOutcome::Refused;
            }
            report.detail = Some(e.to_string());
            return Ok(report);
        }
    };
    let connected = Instant::now();
    report.connect_time = Some(connected - started);
    let until = connected + req.deadline.max(Duration::from_millis(1));
    let result = (|| -> std::io::Result<u32> {
        let left = || {
            until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| std::io::Error::new(ErrorKind::TimedOut, "transfer deadline"))
        };
        conn.set_write_timeout(Some(left()?))?;
        conn.write_all(&req.bytes.to_be_bytes())?;
        let block = [0x5au8; 16 * 1024];
        let mut sent = 0u32;
        while sent < req.bytes {
            conn.set_write_timeout(Some(left()?))?;
            let n = block.len().min((req.bytes - sent) as usize);
            conn.write_all(&block[..n])?;
            sent += n as u32;
        }
        conn.set_read_timeout(Some(left()?))?;
        let mut ack = [0u8; 4];
        conn.read_exact(&mut ack)?;
        Ok(u32::from_be_bytes(ack))
    })();
    match result {
        Ok(acked) => {
            report.acked = acked;
            if acked == req.bytes {
                report.outcome = TcpOutcome::Connected;
                report.transfer_time = Some(connected.elapsed());
            } else {
                report.detail = Some(format!(
                    "the listener acknowledged {acked} of {} bytes",
                    req.bytes
                ));
            }
        }
        Err(e) => report.detail = Some(e.to_string()),
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_output_is_read_into_probes() {
        let out = "PING 198.19.0.10 (198.19.0.10) 56(84) bytes of data.\n\
            64 bytes from 198.19.0.10: icmp_seq=1 ttl=62 time=0.250 ms\n\
            From 198.18.0.1 icmp_seq=2 Frag needed and DF set (mtu = 1400)\n\
            64 bytes from 198.19.0.10: icmp_seq=4 ttl=62 time=1.50 ms\n\
            \n--- 198.19.0.10 ping statistics ---\n\
            4 packets transmitted, 2 received, +1 errors, 50% packet loss, time 603ms\n";
        let (n, probes) = parse_ping(out, "", 5);
        assert_eq!(n, 4);
        assert_eq!(probes.len(), 4);
        assert_eq!(probes[0].rtt, Some(Duration::from_micros(250)));
        assert_eq!(probes[1].frag_needed, Some(1400));
        assert_eq!(probes[2].rtt, None);
        assert_eq!(probes[3].rtt, Some(Duration::from_micros(1500)));
    }

    #[test]
    fn a_local_message_too_long_is_frag_needed() {
        let out = "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1ms\n";
        let err = "ping: local error: message too long, mtu=1400\n\
            ping: local error: message too long, mtu=1400\n";
        let (n, probes) = parse_ping(out, err, 2);
        assert_eq!(n, 2);
        assert!(probes.iter().all(|p| p.frag_needed == Some(1400)));
    }
}
