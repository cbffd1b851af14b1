//! The prober on a real UDP socket (Linux): bind, run the engine to the
//! end, return its report.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};

use super::{ProbeReport, ProbeSettings, Prober};

/// Probes `peer` from a socket bound to `source`, to the end. Blocking;
/// the run is bounded by the request cap times the timeout.
pub fn run(
    source: SocketAddr,
    peer: SocketAddr,
    settings: ProbeSettings,
) -> io::Result<ProbeReport> {
    let socket = UdpSocket::bind(source)?;
    socket.connect(peer)?;
    let local = socket.local_addr()?;
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let mut prober = Prober::new(local, peer, settings, seed, Instant::now());
    let mut buf = vec![0u8; 65536];
    loop {
        while let Some(t) = prober.poll_transmit() {
            socket.send(&t.payload)?;
        }
        let Some(at) = prober.poll_timeout() else {
            break;
        };
        let now = Instant::now();
        if at <= now {
            prober.handle_timeout(now);
            continue;
        }
        // A zero read timeout means "block forever": at least 1 ms.
        socket.set_read_timeout(Some((at - now).max(Duration::from_millis(1))))?;
        match socket.recv(&mut buf) {
            Ok(n) => prober.handle_datagram(Instant::now(), &buf[..n]),
            // ICMP port unreachable surfaces as ConnectionRefused: the
            // request just counts as unanswered.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(prober.report())
}
