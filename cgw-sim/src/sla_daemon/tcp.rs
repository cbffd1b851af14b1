//! tcp-connect: one non-blocking connect per probe, pinned like the other
//! operations; the answer is the handshake's completion (set-up time), a
//! reset or an ICMP error is "unreachable", silence is left to the
//! prober's timeout. The connection is closed at once.

use std::net::SocketAddr;
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpSocket;

use sla::config::OperationConfig;

/// How a connect ended.
#[derive(Debug)]
pub enum Outcome {
    /// Connected at this instant.
    Connected(Instant),
    /// Refused or unreachable at this instant.
    Refused(Instant, std::io::Error),
    /// No answer within the operation's timeout.
    Silent,
}

/// Connects once as operation `cfg` says.
pub async fn connect(cfg: &OperationConfig) -> Outcome {
    let target = SocketAddr::new(cfg.target, cfg.port.unwrap_or(0));
    let open = || -> std::io::Result<TcpSocket> {
        let domain = if target.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        super::sockopt::pin(&s, cfg)?;
        s.set_nonblocking(true)?;
        Ok(TcpSocket::from_std_stream(std::net::TcpStream::from(s)))
    };
    let sock = match open() {
        Ok(s) => s,
        Err(e) => return Outcome::Refused(Instant::now(), e),
    };
    match tokio::time::timeout(cfg.timeout, sock.connect(target)).await {
        Ok(Ok(stream)) => {
            let at = Instant::now();
            drop(stream);
            Outcome::Connected(at)
        }
        Ok(Err(e)) => Outcome::Refused(Instant::now(), e),
        Err(_) => Outcome::Silent,
    }
}
