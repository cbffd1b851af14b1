//! Many UDP datagrams per system call on the gateway's sockets.
//!
//! A perf profile of the throughput bench put 88 % of the samples in the
//! kernel, most of it per packet: one `recvfrom`/`sendto` per ESP datagram.
//! This module receives with `recvmmsg(2)` and sends with `sendmmsg(2)`,
//! and, where the kernel supports it, lets whole runs of same-size
//! datagrams cross the stack as one: UDP GSO (`UDP_SEGMENT`, one send of
//! up to [`MAX_SEGMENTS`] datagrams to one peer) and UDP GRO (`UDP_GRO`,
//! the kernel hands over a run of coalesced datagrams with their segment
//! size, [`segments`] splits it back).
//!
//! std, tokio, socket2 and nix's safe API cover neither GSO/GRO control
//! messages together with mmsg nor reuse of our buffers, so this calls
//! libc directly; the unsafe is confined to filling the C structures from
//! buffers this module owns.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

/// Datagrams (or GRO runs) received per `recvmmsg`.
pub const RECV_SLOTS: usize = 32;
/// Room for one received datagram or GRO run: the largest UDP payload.
pub const SLOT: usize = 65_536;
/// Most datagrams in one GSO send (the kernel's `UDP_MAX_SEGMENTS` was 64
/// before Linux 6.x raised it to 128; 64 works on both).
pub const MAX_SEGMENTS: usize = 64;
/// Most bytes of payload in one GSO send (one IPv4 UDP datagram's worth).
pub const MAX_GSO_BYTES: usize = 65_507;
/// Messages per `sendmmsg` call.
const SEND_BATCH: usize = 64;

/// Room for one control message holding an `int` (`CMSG_SPACE(4)` on
/// 64-bit Linux is 24), in `u64`s for its alignment.
type CmsgBuf = [u64; 4];

fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn from_sockaddr(s: &libc::sockaddr_in) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(s.sin_addr.s_addr)),
        u16::from_be(s.sin_port),
    )
}

/// Asks the kernel to coalesce received datagrams (`UDP_GRO`, Linux 5.0+).
/// An error means it will not, which [`RecvBatch`] handles the same way.
pub fn enable_gro(fd: &impl AsRawFd) -> io::Result<()> {
    super::sockbuf::set_int(fd, libc::SOL_UDP, libc::UDP_GRO, 1)
}

/// The datagrams in a run the kernel coalesced with segment size `seg`
/// (`None` or 0: one datagram): every one `seg` bytes but the last, which
/// may be shorter.
pub fn segments(run: &[u8], seg: Option<u16>) -> impl Iterator<Item = &[u8]> {
    let size = match seg {
        Some(s) if s > 0 => usize::from(s),
        _ => run.len().max(1),
    };
    run.chunks(size)
}

/// Buffers for one `recvmmsg`, reused from call to call.
pub struct RecvBatch {
    data: Vec<u8>,
    names: Vec<libc::sockaddr_in>,
    cmsgs: Vec<CmsgBuf>,
    lens: Vec<usize>,
    segs: Vec<Option<u16>>,
    n: usize,
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch::new()
    }
}

impl RecvBatch {
    /// Empty buffers for [`RECV_SLOTS`] datagrams.
    pub fn new() -> RecvBatch {
        RecvBatch {
            data: vec![0; RECV_SLOTS * SLOT],
            names: vec![sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)); RECV_SLOTS],
            cmsgs: vec![[0; 4]; RECV_SLOTS],
            lens: vec![0; RECV_SLOTS],
            segs: vec![None; RECV_SLOTS],
            n: 0,
        }
    }

    /// Receives what is waiting on `fd`, without blocking: how many
    /// datagrams or GRO runs ([`RecvBatch::get`]); `WouldBlock` when none.
    pub fn recv(&mut self, fd: &impl AsRawFd) -> io::Result<usize> {
        self.n = 0;
        let mut iovs: Vec<libc::iovec> = self
            .data
            .chunks_mut(SLOT)
            .map(|c| libc::iovec {
                iov_base: c.as_mut_ptr().cast(),
                iov_len: c.len(),
            })
            .collect();
        let mut hdrs: Vec<libc::mmsghdr> = (0..RECV_SLOTS)
            .map(|i| {
                // SAFETY: msghdr is plain data; all-zero is a valid empty one.
                let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
                h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_in).cast();
                h.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                h.msg_iov = &mut iovs[i];
                h.msg_iovlen = 1;
                h.msg_control = self.cmsgs[i].as_mut_ptr().cast();
                h.msg_controllen = std::mem::size_of::<CmsgBuf>() as _;
                libc::mmsghdr {
                    msg_hdr: h,
                    msg_len: 0,
                }
            })
            .collect();
        // SAFETY: every header points into buffers owned by `self` or
        // `iovs`, all alive and unmoved for the call, with the lengths given.
        let r = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                RECV_SLOTS as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = r as usize;
        for (i, h) in hdrs.iter().take(n).enumerate() {
            self.lens[i] = (h.msg_len as usize).min(SLOT);
            self.segs[i] = gro_segment(&h.msg_hdr);
        }
        self.n = n;
        Ok(n)
    }

    /// Datagram or GRO run `i` of the last [`RecvBatch::recv`]: its sender,
    /// its bytes and, for a run, the segment size ([`segments`]).
    pub fn get(&self, i: usize) -> Option<(SocketAddrV4, &[u8], Option<u16>)> {
        (i < self.n).then(|| {
            let start = i * SLOT;
            (
                from_sockaddr(&self.names[i]),
                &self.data[start..start + self.lens[i]],
                self.segs[i],
            )
        })
    }
}

/// The `UDP_GRO` segment size in a received message's control data.
fn gro_segment(h: &libc::msghdr) -> Option<u16> {
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
    // within `msg_controllen`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == libc::UDP_GRO {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                return u16::try_from(v).ok();
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    None
}

/// A run of queued datagrams to one peer sent with one message:
/// `data[start..end]`, cut into `seg`-byte datagrams when it holds more
/// than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// The peer.
    pub dst: SocketAddrV4,
    /// Where the run starts in the queue's bytes.
    pub start: usize,
    /// Where it ends.
    pub end: usize,
    /// The segment size (every datagram's but the last's, which may be
    /// shorter).
    pub seg: usize,
    /// How many datagrams.
    pub count: usize,
}

/// What one [`SendQueue::flush`] did, in datagrams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Handed to the kernel.
    pub sent: u64,
    /// Dropped because the socket's buffer was full.
    pub queue_full: u64,
    /// Dropped on another error.
    pub failed: u64,
}

/// Outgoing datagrams queued during one pass of the event loop and sent
/// together by [`SendQueue::flush`].
#[derive(Debug, Default)]
pub struct SendQueue {
    data: Vec<u8>,
    /// (peer, start, length) of each datagram, in order.
    items: Vec<(SocketAddrV4, usize, usize)>,
    /// GSO failed once with an error that says the kernel or the route
    /// cannot do it: send one datagram per message from then on.
    no_gso: bool,
}

impl SendQueue {
    /// Queues `payload` for `dst`.
    pub fn push(&mut self, dst: SocketAddrV4, payload: &[u8]) {
        self.items.push((dst, self.data.len(), payload.len()));
        self.data.extend_from_slice(payload);
    }

    /// Datagrams queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How the queue is cut into messages: with `gso`, consecutive
    /// datagrams to the same peer of the same size (the last one may be
    /// shorter) go together, up to [`MAX_SEGMENTS`] and [`MAX_GSO_BYTES`];
    /// without, one datagram per group.
    pub fn groups(&self, gso: bool) -> Vec<Group> {
        let mut out: Vec<Group> = Vec::new();
        for &(dst, start, len) in &self.items {
            if let Some(g) = out.last_mut() {
                let fits = gso
                    && g.dst == dst
                    && g.end == start
                    && len <= g.seg
                    && len > 0
                    // A shorter datagram ends its run.
                    && (g.end - g.start) == g.seg * g.count
                    && g.count < MAX_SEGMENTS
                    && g.end - g.start + len <= MAX_GSO_BYTES;
                if fits {
                    g.end += len;
                    g.count += 1;
                    continue;
                }
            }
            out.push(Group {
                dst,
                start,
                end: start + len,
                seg: len,
                count: 1,
            });
        }
        out
    }

    /// Sends everything queued on `fd` without blocking and empties the
    /// queue; datagrams the kernel refuses are dropped and counted.
    pub fn flush(&mut self, fd: &impl AsRawFd) -> Sent {
        let mut sent = Sent::default();
        if self.items.is_empty() {
            return sent;
        }
        let groups = self.groups(!self.no_gso);
        let mut i = 0;
        while i < groups.len() {
            let end = (i + SEND_BATCH).min(groups.len());
            match self.send_some(fd.as_raw_fd(), &groups[i..end]) {
                Ok(n) => {
                    for g in &groups[i..i + n] {
                        sent.sent += g.count as u64;
                    }
                    i += n;
                }
                Err(e) => {
                    // The first message of the batch failed: drop it (or,
                    // for a GSO run the kernel cannot do, send it datagram
                    // by datagram) and go on with the rest.
                    let g = groups[i];
                    if g.count > 1 && gso_refused(&e) {
                        // EINVAL: this run only (e.g. segments over the
                        // route's MTU); the others: GSO never works here.
                        self.no_gso |= e.raw_os_error() != Some(libc::EINVAL);
                        let one = self.one_by_one(fd.as_raw_fd(), g);
                        sent.sent += one.sent;
                        sent.queue_full += one.queue_full;
                        sent.failed += one.failed;
                    } else if e.kind() == io::ErrorKind::WouldBlock {
                        sent.queue_full += g.count as u64;
                    } else {
                        sent.failed += g.count as u64;
                    }
                    i += 1;
                }
            }
        }
        self.items.clear();
        self.data.clear();
        sent
    }

    /// Sends `g`'s datagrams one per message (after GSO failed).
    fn one_by_one(&self, fd: RawFd, g: Group) -> Sent {
        let mut sent = Sent::default();
        let mut start = g.start;
        while start < g.end {
            let end = (start + g.seg).min(g.end);
            let one = Group {
                dst: g.dst,
                start,
                end,
                seg: end - start,
                count: 1,
            };
            match self.send_some(fd, &[one]) {
                Ok(_) => sent.sent += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => sent.queue_full += 1,
                Err(_) => sent.failed += 1,
            }
            start = end;
        }
        sent
    }

    /// One `sendmmsg` of `groups`: how many messages the kernel took (at
    /// least one), or the error of the first.
    fn send_some(&self, fd: RawFd, groups: &[Group]) -> io::Result<usize> {
        let mut names: Vec<libc::sockaddr_in> = groups.iter().map(|g| sockaddr(g.dst)).collect();
        let mut iovs: Vec<libc::iovec> = groups
            .iter()
            .map(|g| libc::iovec {
                // sendmsg does not write through iov_base.
                iov_base: self.data[g.start..g.end].as_ptr() as *mut libc::c_void,
                iov_len: g.end - g.start,
            })
            .collect();
        let mut cmsgs: Vec<CmsgBuf> = vec![[0; 4]; groups.len()];
        let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            // SAFETY: msghdr is plain data; all-zero is a valid empty one.
            let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
            h.msg_name = (&mut names[i] as *mut libc::sockaddr_in).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
            if g.count > 1 {
                h.msg_control = cmsgs[i].as_mut_ptr().cast();
                // SAFETY: CMSG_SPACE is arithmetic.
                h.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as _;
                // SAFETY: the control buffer holds CMSG_SPACE(2) bytes (24
                // <= 32), so the first header and its 2 data bytes fit.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(&h);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = libc::UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(2) as _;
                    let seg = u16::try_from(g.seg).unwrap_or(u16::MAX);
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg);
                }
            }
            hdrs.push(libc::mmsghdr {
                msg_hdr: h,
                msg_len: 0,
            });
        }
        // SAFETY: the headers point into `names`, `iovs`, `cmsgs` and
        // `self.data`, all alive and unmoved for the call.
        let r = unsafe {
            libc::sendmmsg(
                fd,
                hdrs.as_mut_ptr(),
                hdrs.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok((r as usize).max(1))
        }
    }
}

/// Whether a failed GSO send says GSO itself is the problem (no kernel
/// support, no checksum offload on the route, a segment over the MTU).
fn gso_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO) | Some(libc::EINVAL) | Some(libc::ENOPROTOOPT) | Some(libc::EOPNOTSUPP)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 10), 4500);
    const B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 11), 4500);

    fn queue(items: &[(SocketAddrV4, usize)]) -> SendQueue {
        let mut q = SendQueue::default();
        for (i, &(dst, len)) in items.iter().enumerate() {
            q.push(dst, &vec![i as u8; len]);
        }
        q
    }

    fn shape(gs: &[Group]) -> Vec<(SocketAddrV4, usize, usize)> {
        gs.iter().map(|g| (g.dst, g.seg, g.count)).collect()
    }

    #[test]
    fn same_size_datagrams_to_one_peer_form_one_run_ended_by_a_shorter_one() {
        let q = queue(&[
            (A, 100),
            (A, 100),
            (A, 100),
            (A, 60),
            (A, 100),
            (B, 100),
            (B, 100),
        ]);
        let gs = q.groups(true);
        assert_eq!(shape(&gs), vec![(A, 100, 4), (A, 100, 1), (B, 100, 2)]);
        // The runs tile the queue's bytes in order.
        assert_eq!(gs[0].start, 0);
        assert_eq!(gs[0].end, 360);
        assert_eq!(gs[1].start, 360);
        assert_eq!(gs[2].end, q.data.len());
        // Without GSO, one datagram per message.
        assert_eq!(q.groups(false).len(), 7);
        assert!(q.groups(false).iter().all(|g| g.count == 1));
    }

    #[test]
    fn a_larger_datagram_starts_a_new_run_and_runs_are_bounded() {
        let q = queue(&[(A, 100), (A, 200), (A, 200)]);
        assert_eq!(shape(&q.groups(true)), vec![(A, 100, 1), (A, 200, 2)]);
        let q = queue(&vec![(A, 10); MAX_SEGMENTS + 3]);
        assert_eq!(
            shape(&q.groups(true)),
            vec![(A, 10, MAX_SEGMENTS), (A, 10, 3)]
        );
        // 1400-byte datagrams: 46 fit in 65,507 bytes.
        let q = queue(&vec![(A, 1400); 50]);
        assert_eq!(shape(&q.groups(true)), vec![(A, 1400, 46), (A, 1400, 4)]);
        let q = queue(&[(A, 0), (A, 0)]);
        assert_eq!(q.groups(true).len(), 2);
    }

    #[test]
    fn a_gro_run_splits_into_its_datagrams() {
        let run: Vec<u8> = (0..250u8).collect();
        let parts: Vec<&[u8]> = segments(&run, Some(100)).collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], &run[..100]);
        assert_eq!(parts[2], &run[200..]);
        assert_eq!(segments(&run, None).count(), 1);
        assert_eq!(segments(&run, Some(0)).count(), 1);
        assert_eq!(segments(&[], None).count(), 0);
    }

    #[test]
    fn datagrams_cross_a_loopback_socket_pair_with_gso_and_gro() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let _ = enable_gro(&rx);
        let to = match rx.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            _ => unreachable!(),
        };
        let mut q = SendQueue::default();
        let mut want = Vec::new();
        for i in 0..20u8 {
            let len = if i == 19 { 50 } else { 300 };
            let d = vec![i; len];
            q.push(to, &d);
            want.push(d);
        }
        assert_eq!(q.flush(&tx).sent, 20);
        assert!(q.is_empty());
        let mut got = Vec::new();
        let mut b = RecvBatch::new();
        for _ in 0..100 {
            match b.recv(&rx) {
                Ok(n) => {
                    for i in 0..n {
                        let (_, run, seg) = b.get(i).unwrap();
                        got.extend(segments(run, seg).map(<[u8]>::to_vec));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if got.len() == want.len() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, want);
    }
}
