//! `cgw-sim sla --responder`: the udp-echo / udp-jitter reflector on a UDP
//! socket, stamping with CLOCK_REALTIME ([`sla::responder::Responder`]
//! does the rest). One datagram at a time on the loop; memory is bounded
//! by the responder's flow table. Counts are logged every minute and at
//! exit.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use sla::responder::Responder;

use super::sockopt::realtime_ns;
use super::{rx_stamp, SlaError};

/// Where the responder listens unless `--listen` says otherwise: every
/// IPv4 address (the far end must reach it), port 5000.
pub const DEFAULT_RESPONDER_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5000);

/// How often the counts are logged.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// What the responder did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponderCounts {
    /// Probes answered.
    pub answered: u64,
    /// Datagrams refused (not probes, or replies).
    pub refused: u64,
}

/// Binds `listen` (port 0: any; the bound address goes to `bound`).
pub async fn bind(listen: SocketAddr) -> Result<UdpSocket, SlaError> {
    let err = |source| SlaError::Socket {
        operation: format!("responder on {listen}"),
        source,
    };
    let sock = UdpSocket::bind(listen).await.map_err(err)?;
    // Requests stamped on arrival by the kernel, like the prober's replies.
    super::rx_stamp::enable(&sock).map_err(err)?;
    Ok(sock)
}

/// Reflects probes on `sock` until `stop`.
pub async fn serve(sock: UdpSocket, stop: impl Future<Output = ()>) -> ResponderCounts {
    let mut r = Responder::new();
    let mut buf = vec![0u8; 65_536];
    let mut tick = tokio::time::interval(LOG_EVERY);
    tick.tick().await;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            _ = tick.tick() => {
                tracing::info!(answered = r.answered, refused = r.refused, "responder");
            }
            got = rx_stamp::recv(&sock, &mut buf) => {
                let (got, from) = match got {
                    Ok(got @ rx_stamp::Received { from: Some(from), .. }) => (got, from),
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::debug!(error = %e, "responder receive");
                        continue;
                    }
                };
                let (rx_ns, _) = rx_stamp::arrival(got.stamp);
                match r.handle(from.ip(), &buf[..got.len], rx_ns, realtime_ns()) {
                    Ok(reply) => {
                        if let Err(e) = sock.try_send_to(&reply, from) {
                            tracing::debug!(%from, error = %e, "responder send");
                        }
                    }
                    Err(e) => tracing::debug!(%from, error = %e, "responder refused a datagram"),
                }
            }
        }
    }
    tracing::info!(
        answered = r.answered,
        refused = r.refused,
        "responder stopped"
    );
    ResponderCounts {
        answered: r.answered,
        refused: r.refused,
    }
}
