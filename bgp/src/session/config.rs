//! What a session is configured with.

use std::net::Ipv4Addr;
use std::time::Duration;

/// An address family a session can carry (AFI/SAFI, RFC 4760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4Unicast,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6Unicast,
}

impl Family {
    /// The (AFI, SAFI) pair.
    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Ipv4Unicast => (1, 1),
            Family::Ipv6Unicast => (2, 1),
        }
    }
    /// The family for an (AFI, SAFI) pair, if we know it.
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }
}

/// The configuration of one BGP session (one peer).
///
/// [`SessionConfig::new`] gives AWS's values: hold time 30 s, keepalive
/// 10 s (a third of the hold time), 4-octet AS numbers, IPv4 unicast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS.
    pub local_as: u32,
    /// The AS the peer must announce in its OPEN (else NOTIFICATION 2/2
    /// Bad Peer AS).
    pub peer_as: u32,
    /// Our BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The hold time we propose, in seconds: 0 (no keepalives, no hold
    /// timer) or at least 3. The session uses the lower of both proposals.
    pub hold_time: u16,
    /// The keepalive interval; `None` for a third of the negotiated hold
    /// time. Never more than a third of the negotiated hold time.
    pub keepalive: Option<Duration>,
    /// ConnectRetryTime: the wait between connection attempts.
    pub connect_retry: Duration,
    /// Never initiate a TCP connection: wait for the peer's (in Active).
    pub passive: bool,
    /// Automatic restart (RFC 4271 AutomaticStart with the IdleHoldTimer):
    /// after an error has taken the session to Idle, start again after
    /// this long. `None` stays Idle until [`super::Session::start`].
    /// Models AWS's flapping after a maximum-prefix Cease.
    pub restart_time: Option<Duration>,
    /// The families we offer (Multiprotocol capabilities). The session
    /// carries those the peer offers too.
    pub families: Vec<Family>,
    /// Offer 4-octet AS numbers (RFC 6793). Used when both offer it.
    pub four_octet_as: bool,
}

impl SessionConfig {
    /// A configuration with AWS's timers: hold time 30 s, keepalive a third
    /// of it (10 s), connect retry 5 s, automatic restart after 5 s, active,
    /// IPv4 unicast, 4-octet AS numbers.
    pub fn new(local_as: u32, peer_as: u32, bgp_id: Ipv4Addr) -> SessionConfig {
        SessionConfig {
            local_as,
            peer_as,
            bgp_id,
            hold_time: 30,
            keepalive: None,
            connect_retry: Duration::from_secs(5),
            passive: false,
            restart_time: Some(Duration::from_secs(5)),
            families: vec![Family::Ipv4Unicast],
            four_octet_as: true,
        }
    }

    /// Checks the values a session cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        if self.local_as == 0 || self.peer_as == 0 {
            return Err(ConfigError::ZeroAs);
        }
        if !self.four_octet_as {
            for asn in [self.local_as, self.peer_as] {
                if asn > u32::from(u16::MAX) {
                    return Err(ConfigError::NeedsFourOctetAs(asn));
                }
            }
        }
        if self.bgp_id.is_unspecified() {
            return Err(ConfigError::ZeroBgpId);
        }
        if self.families.is_empty() {
            return Err(ConfigError::NoFamily);
        }
        if self.keepalive == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroKeepalive);
        }
        if self.connect_retry.is_zero() {
            return Err(ConfigError::ZeroConnectRetry);
        }
        Ok(())
    }

    /// The (AFI, SAFI) pairs we offer, each once, in order.
    pub(crate) fn family_list(&self) -> Vec<Family> {
        let mut v = self.families.clone();
        v.sort();
        v.dedup();
        v
    }
}

/// A configuration a session cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Hold time 1 or 2 (RFC 4271 4.2: 0 or at least 3).
    #[error("hold time {0} s: must be 0 or at least 3")]
    HoldTime(u16),
    /// AS 0 is reserved.
    #[error("AS 0 is reserved")]
    ZeroAs,
    /// An AS above 65535 needs the 4-octet AS capability.
    #[error("AS {0} needs 4-octet AS numbers")]
    NeedsFourOctetAs(u32),
    /// The BGP identifier must not be 0.0.0.0.
    #[error("BGP identifier 0.0.0.0")]
    ZeroBgpId,
    /// No address family.
    #[error("no address family")]
    NoFamily,
    /// A keepalive interval of zero.
    #[error("keepalive interval 0")]
    ZeroKeepalive,
    /// A connect retry interval of zero.
    #[error("connect retry interval 0")]
    ZeroConnectRetry,
}
