//! A raw IPv4 socket for ESP (IP protocol 50): how ESP that is not
//! UDP-encapsulated leaves and arrives on a host. The kernel adds the IP
//! header on send and keeps it on receive, which is what the gateway's
//! outside interface speaks. Needs CAP_NET_RAW.
//!
//! std and tokio have no raw sockets; libc is the thin layer under both,
//! so this uses it directly rather than pulling in a socket crate for
//! three calls.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// IP protocol number of ESP.
const IPPROTO_ESP: libc::c_int = 50;

/// A non-blocking raw ESP socket bound to one local address.
#[derive(Debug)]
pub struct RawEsp {
    fd: OwnedFd,
}

fn sockaddr(addr: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    }
}

impl RawEsp {
    /// Opens the socket, bound to `local` (only ESP for that address is
    /// received).
    pub fn open(local: Ipv4Addr) -> io::Result<RawEsp> {
        // SAFETY: plain socket(2); the descriptor is checked and owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                IPPROTO_ESP,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh, valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let sa = sockaddr(local);
        // SAFETY: `sa` is a valid sockaddr_in of the length passed.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawEsp { fd })
    }

    /// Sends `payload` (the ESP header onwards) to `dst`; the kernel adds
    /// the IPv4 header.
    pub fn send_to(&self, payload: &[u8], dst: Ipv4Addr) -> io::Result<usize> {
        let sa = sockaddr(dst);
        // SAFETY: the buffer and the address are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Receives one packet, IPv4 header included, into `buf`
    /// (`WouldBlock` when none is waiting).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

impl AsRawFd for RawEsp {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
