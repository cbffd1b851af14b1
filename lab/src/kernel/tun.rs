//! TUN devices inside a namespace (tun-rs), configured over netlink.

use super::{check_ifname, KernelError, Netns, Result};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr};

/// What a TUN device gets: a name, the inside address and an MTU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunConfig {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// The local inside address, e.g. 169.254.10.2.
    pub addr: Ipv4Addr,
    /// Its prefix length, e.g. 30.
    pub prefix_len: u8,
    /// The device MTU, e.g. 1438.
    pub mtu: u32,
    /// An IPv6 inside address and its prefix length (e.g. an AWS
    /// /126's second address), turning IPv6 on for the device; `None`
    /// keeps the device IPv4-only.
    pub addr6: Option<(Ipv6Addr, u8)>,
}

/// A layer-3 TUN device: bare IP packets, no packet-information header.
///
/// The device lives in the namespace it was opened in and disappears when
/// this handle drops (it is not persistent), taking its routes with it.
pub struct Tun {
    dev: tun_rs::SyncDevice,
    name: String,
}

impl std::fmt::Debug for Tun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tun").field("name", &self.name).finish()
    }
}

impl Netns {
    /// Open a TUN device in this namespace, give it its address and MTU,
    /// bring it up, and switch it to non-blocking I/O.
    pub fn open_tun(&self, config: &TunConfig) -> Result<Tun> {
        check_ifname(&config.name)?;
        self.check_addr(config.addr)?;
        self.check_prefix(config.addr, config.prefix_len)?;
        let name = config.name.clone();
        let dev = self
            .run(|| {
                tun_rs::DeviceBuilder::new()
                    .name(&name)
                    .packet_information(false)
                    .enable(false)
                    .build_sync()
            })?
            .map_err(|e| KernelError::io(format!("creating TUN {name} in {}", self.name()), e))?;
        dev.set_nonblocking(true)
            .map_err(|e| KernelError::io(format!("making TUN {name} non-blocking"), e))?;
        self.set_mtu(&name, config.mtu)?;
        self.add_address(&name, config.addr, config.prefix_len)?;
        if let Some((a6, len6)) = config.addr6 {
            self.check_prefix(a6, len6)?;
            self.enable_ipv6(&name)?;
            self.add_address(&name, a6, len6)?;
        }
        self.link_up(&name)?;
        Ok(Tun { dev, name })
    }
}

impl Tun {
    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Change the device's MTU (a tunnel's MTU follows the algorithms its
    /// SA negotiated).
    pub fn set_mtu(&self, mtu: u16) -> Result<()> {
        self.dev
            .set_mtu(mtu)
            .map_err(|e| KernelError::io(format!("setting mtu {mtu} on TUN {}", self.name), e))
    }

    /// Read one packet into `buf` without blocking: `Ok(None)` when no
    /// packet is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        match self.dev.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(KernelError::io(format!("reading TUN {}", self.name), e)),
        }
    }

    /// Write one IPv4 packet into the namespace's stack without blocking:
    /// `Ok(false)` when the device queue is full and the packet was not sent.
    pub fn send(&self, packet: &[u8]) -> Result<bool> {
        match self.dev.send(packet) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(KernelError::io(format!("writing TUN {}", self.name), e)),
        }
    }
}

/// The device's descriptor, for an event loop to wait on readiness (the OS
/// driver registers it with tokio's `AsyncFd`); it stays owned by the [`Tun`].
impl std::os::fd::AsRawFd for Tun {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.dev.as_raw_fd()
    }
}
