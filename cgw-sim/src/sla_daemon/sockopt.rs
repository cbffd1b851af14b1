//! What pins a probe socket to one path, per operation: the source
//! address, the interface (`SO_BINDTODEVICE`: a tunnel's TUN), the TOS /
//! traffic class, and the don't-fragment bit. Set before the first send,
//! so no probe leaves another way.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use socket2::Socket;

use sla::config::OperationConfig;

/// Applies `cfg`'s source, interface, TOS and DF to `sock` (not yet
/// bound). A source address binds port 0 (any).
pub fn pin(sock: &Socket, cfg: &OperationConfig) -> io::Result<()> {
    let v4 = cfg.target.is_ipv4();
    if let Some(dev) = &cfg.interface {
        sock.bind_device(Some(dev.as_bytes()))?;
    }
    if cfg.tos != 0 {
        if v4 {
            sock.set_tos_v4(u32::from(cfg.tos))?;
        } else {
            sock.set_tclass_v6(u32::from(cfg.tos))?;
        }
    }
    set_df(sock, v4, cfg.df)?;
    if let Some(src) = cfg.source {
        sock.bind(&SocketAddr::new(src, 0).into())?;
    }
    Ok(())
}

/// The DF bit as configured, both ways: path MTU discovery "do" (DF set,
/// never fragmented locally) or "dont" (DF clear). Left alone, Linux's
/// default ("want") would set DF on every probe, so `df = false` must say
/// so. socket2 has no setter for it.
fn set_df(sock: &Socket, v4: bool, df: bool) -> io::Result<()> {
    let (level, name, value) = match (v4, df) {
        (true, true) => (
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_DO,
        ),
        (true, false) => (
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_DONT,
        ),
        (false, true) => (
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_DO,
        ),
        (false, false) => (
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_DONT,
        ),
    };
    let value: libc::c_int = value;
    // SAFETY: a valid descriptor, and a c_int option of the right size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The wall clock in nanoseconds since the epoch (CLOCK_REALTIME): what
/// udp-jitter stamps, so one-way delays mean something when both hosts
/// run NTP or PTP. RTT and jitter use differences on one host's clock.
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
