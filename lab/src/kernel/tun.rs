//! TUN devices inside a namespace (tun-rs), configured over netlink.
//!
//! A device may be opened with offload ([`Netns::open_tun_offload`]): the
//! kernel then hands over TCP segmentation-offload super-packets (up to
//! 64 KiB) with a virtio-net header, which tun-rs splits into MTU-sized
//! packets with correct headers and checksums ([`Tun::recv_many`]), and
//! coalesces consecutive TCP segments of one flow on write
//! ([`Tun::send_many`]): one trip through the kernel per super-packet
//! instead of per packet. Without offload the same two calls move one
//! packet per system call.

use super::{check_ifname, KernelError, Netns, Result};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr};
use tun_rs::{GROTable, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};

/// Room for one packet read or a super-packet (the largest IP packet).
const SLOT: usize = 65_536;

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
    offload: bool,
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
        self.open_tun_with(config, false)
    }

    /// [`Netns::open_tun`] with offload (see the module documentation),
    /// or without when the kernel refuses it ([`Tun::offload`] tells).
    /// Such a device is read and written with [`Tun::recv_many`] and
    /// [`Tun::send_many`] only.
    pub fn open_tun_offload(&self, config: &TunConfig) -> Result<Tun> {
        self.open_tun_with(config, true)
            .or_else(|_| self.open_tun_with(config, false))
    }

    fn open_tun_with(&self, config: &TunConfig, offload: bool) -> Result<Tun> {
        check_ifname(&config.name)?;
        self.check_addr(config.addr)?;
        self.check_prefix(config.addr, config.prefix_len)?;
        let name = config.name.clone();
        let dev = self
            .run(|| {
                tun_rs::DeviceBuilder::new()
                    .name(&name)
                    .packet_information(false)
                    .offload(offload)
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
        Ok(Tun { dev, name, offload })
    }
}

/// Buffers for [`Tun::recv_many`], reused from call to call.
pub struct TunRecv {
    raw: Vec<u8>,
    bufs: Vec<Vec<u8>>,
    sizes: Vec<usize>,
}

impl Default for TunRecv {
    fn default() -> Self {
        TunRecv {
            raw: vec![0; VIRTIO_NET_HDR_LEN + SLOT],
            // Each its own zeroed allocation: pages are only touched when
            // a packet lands in them.
            bufs: (0..IDEAL_BATCH_SIZE).map(|_| vec![0; SLOT]).collect(),
            sizes: vec![0; IDEAL_BATCH_SIZE],
        }
    }
}

impl TunRecv {
    /// Packet `i` of the last [`Tun::recv_many`].
    pub fn packet(&self, i: usize) -> &[u8] {
        &self.bufs[i][..self.sizes[i]]
    }
}

/// Packets queued for one [`Tun::send_many`], with the room tun-rs needs
/// in front of each for the virtio-net header.
#[derive(Default)]
pub struct TunSend {
    bufs: Vec<Vec<u8>>,
    len: usize,
    gro: GROTable,
}

impl TunSend {
    /// Queues `packet`.
    pub fn push(&mut self, packet: &[u8]) {
        if self.len == self.bufs.len() {
            self.bufs.push(Vec::new());
        }
        let b = &mut self.bufs[self.len];
        b.clear();
        b.resize(VIRTIO_NET_HDR_LEN, 0);
        b.extend_from_slice(packet);
        self.len += 1;
    }

    /// Packets queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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

    /// Whether the device was opened with offload.
    pub fn offload(&self) -> bool {
        self.offload
    }

    fn no_offload(&self) -> Result<()> {
        if self.offload {
            return Err(KernelError::io(
                format!(
                    "single-packet I/O on TUN {} (opened with offload)",
                    self.name
                ),
                std::io::Error::from(ErrorKind::Unsupported),
            ));
        }
        Ok(())
    }

    /// Read one packet into `buf` without blocking: `Ok(None)` when no
    /// packet is waiting. Not on a device opened with offload.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        self.no_offload()?;
        match self.dev.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(KernelError::io(format!("reading TUN {}", self.name), e)),
        }
    }

    /// Read what is waiting without blocking: one packet, or with offload
    /// one super-packet split into its packets ([`TunRecv::packet`]);
    /// `Ok(None)` when nothing is waiting.
    pub fn recv_many(&self, b: &mut TunRecv) -> Result<Option<usize>> {
        match self
            .dev
            .recv_multiple(&mut b.raw, &mut b.bufs, &mut b.sizes, 0)
        {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(KernelError::io(format!("reading TUN {}", self.name), e)),
        }
    }

    /// Write the queued packets without blocking (with offload, coalescing
    /// consecutive TCP segments of a flow into super-packets) and empty
    /// the queue. `Ok(true)` when all went; `Ok(false)` when at least one
    /// write found the device queue full (tun-rs reports no more than
    /// that).
    pub fn send_many(&self, q: &mut TunSend) -> Result<bool> {
        let n = std::mem::take(&mut q.len);
        match self
            .dev
            .send_multiple(&mut q.gro, &mut q.bufs[..n], VIRTIO_NET_HDR_LEN)
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(KernelError::io(format!("writing TUN {}", self.name), e)),
        }
    }

    /// Write one IPv4 packet into the namespace's stack without blocking:
    /// `Ok(false)` when the device queue is full and the packet was not
    /// sent. Not on a device opened with offload.
    pub fn send(&self, packet: &[u8]) -> Result<bool> {
        self.no_offload()?;
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
