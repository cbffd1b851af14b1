//! NOTIFICATION (RFC 4271 4.5): error codes and subcodes from the IANA
//! registry, constructors for the ones the session sends, and
//! [`Notification::describe`] for logs.

use super::{Capability, Notification};

/// Error codes and subcodes (IANA "BGP Error (Notification) Codes").
pub mod codes {
    /// Message Header Error (RFC 4271).
    pub const MESSAGE_HEADER: u8 = 1;
    /// OPEN Message Error (RFC 4271).
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error (RFC 4271).
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired (RFC 4271).
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error (RFC 4271, subcodes RFC 6608).
    pub const FSM: u8 = 5;
    /// Cease (RFC 4271, subcodes RFC 4486).
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
    /// Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;

    /// Header 1/1: Connection Not Synchronized (marker not all ones).
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Header 1/2: Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Header 1/3: Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;

    /// Subcode 0 of OPEN, UPDATE and FSM errors: unspecific.
    pub const UNSPECIFIC: u8 = 0;
    /// OPEN 2/1: Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// OPEN 2/2: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// OPEN 2/3: Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// OPEN 2/4: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// OPEN 2/6: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// OPEN 2/7: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// OPEN 2/11: Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;

    /// UPDATE 3/1: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// UPDATE 3/2: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// UPDATE 3/3: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// UPDATE 3/4: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// UPDATE 3/5: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// UPDATE 3/6: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// UPDATE 3/8: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// UPDATE 3/9: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// UPDATE 3/10: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// UPDATE 3/11: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;

    /// FSM 5/1: Receive Unexpected Message in OpenSent State (RFC 6608).
    pub const FSM_UNEXPECTED_IN_OPENSENT: u8 = 1;
    /// FSM 5/2: Receive Unexpected Message in OpenConfirm State.
    pub const FSM_UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    /// FSM 5/3: Receive Unexpected Message in Established State.
    pub const FSM_UNEXPECTED_IN_ESTABLISHED: u8 = 3;

    /// Cease 6/1: Maximum Number of Prefixes Reached (RFC 4486).
    pub const MAX_PREFIXES: u8 = 1;
    /// Cease 6/2: Administrative Shutdown.
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Cease 6/3: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Cease 6/4: Administrative Reset.
    pub const ADMIN_RESET: u8 = 4;
    /// Cease 6/5: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Cease 6/6: Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// Cease 6/7: Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// Cease 6/8: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Cease 6/9: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// Cease 6/10: BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;

    /// ROUTE-REFRESH 7/1: Invalid Message Length (RFC 7313).
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

use codes::*;

/// The name of an error code.
pub fn code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        MESSAGE_HEADER => "Message Header Error",
        OPEN => "OPEN Message Error",
        UPDATE => "UPDATE Message Error",
        HOLD_TIMER_EXPIRED => "Hold Timer Expired",
        FSM => "Finite State Machine Error",
        CEASE => "Cease",
        ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
        SEND_HOLD_TIMER_EXPIRED => "Send Hold Timer Expired",
        _ => return None,
    })
}

/// The name of a subcode within `code`.
pub fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    Some(match (code, subcode) {
        (MESSAGE_HEADER, 1) => "Connection Not Synchronized",
        (MESSAGE_HEADER, 2) => "Bad Message Length",
        (MESSAGE_HEADER, 3) => "Bad Message Type",
        (OPEN, 0) | (UPDATE, 0) => "Unspecific",
        (OPEN, 1) => "Unsupported Version Number",
        (OPEN, 2) => "Bad Peer AS",
        (OPEN, 3) => "Bad BGP Identifier",
        (OPEN, 4) => "Unsupported Optional Parameter",
        (OPEN, 5) => "Authentication Failure (deprecated)",
        (OPEN, 6) => "Unacceptable Hold Time",
        (OPEN, 7) => "Unsupported Capability",
        (OPEN, 8..=10) => "Deprecated",
        (OPEN, 11) => "Role Mismatch",
        (UPDATE, 1) => "Malformed Attribute List",
        (UPDATE, 2) => "Unrecognized Well-known Attribute",
        (UPDATE, 3) => "Missing Well-known Attribute",
        (UPDATE, 4) => "Attribute Flags Error",
        (UPDATE, 5) => "Attribute Length Error",
        (UPDATE, 6) => "Invalid ORIGIN Attribute",
        (UPDATE, 7) => "AS Routing Loop (deprecated)",
        (UPDATE, 8) => "Invalid NEXT_HOP Attribute",
        (UPDATE, 9) => "Optional Attribute Error",
        (UPDATE, 10) => "Invalid Network Field",
        (UPDATE, 11) => "Malformed AS_PATH",
        (FSM, 0) => "Unspecified Error",
        (FSM, 1) => "Receive Unexpected Message in OpenSent State",
        (FSM, 2) => "Receive Unexpected Message in OpenConfirm State",
        (FSM, 3) => "Receive Unexpected Message in Established State",
        (CEASE, 1) => "Maximum Number of Prefixes Reached",
        (CEASE, 2) => "Administrative Shutdown",
        (CEASE, 3) => "Peer De-configured",
        (CEASE, 4) => "Administrative Reset",
        (CEASE, 5) => "Connection Rejected",
        (CEASE, 6) => "Other Configuration Change",
        (CEASE, 7) => "Connection Collision Resolution",
        (CEASE, 8) => "Out of Resources",
        (CEASE, 9) => "Hard Reset",
        (CEASE, 10) => "BFD Down",
        (ROUTE_REFRESH, 1) => "Invalid Message Length",
        _ => return None,
    })
}

impl Notification {
    /// A NOTIFICATION with any code, subcode and data.
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// Cease / Maximum Number of Prefixes Reached (6/1) with RFC 4486's
    /// data: AFI (2 octets), SAFI (1), the prefix upper bound (4).
    pub fn max_prefixes(afi: u16, safi: u8, limit: u32) -> Notification {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&afi.to_be_bytes());
        data.push(safi);
        data.extend_from_slice(&limit.to_be_bytes());
        Notification::new(CEASE, MAX_PREFIXES, data)
    }

    /// The (AFI, SAFI, limit) of a Cease 6/1 that carries RFC 4486 data.
    pub fn max_prefixes_data(&self) -> Option<(u16, u8, u32)> {
        if (self.code, self.subcode) != (CEASE, MAX_PREFIXES) {
            return None;
        }
        let d: &[u8; 7] = self.data.as_slice().try_into().ok()?;
        Some((
            u16::from_be_bytes([d[0], d[1]]),
            d[2],
            u32::from_be_bytes([d[3], d[4], d[5], d[6]]),
        ))
    }

    /// Hold Timer Expired (4/0).
    pub fn hold_timer_expired() -> Notification {
        Notification::new(HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    /// Finite State Machine Error (5/`subcode`, RFC 6608; 0 unspecified).
    pub fn fsm_error(subcode: u8) -> Notification {
        Notification::new(FSM, subcode, Vec::new())
    }

    /// Cease with a subcode and no data (6/3, 6/5-6/10; 6/2 and 6/4 see
    /// [`Notification::shutdown`]).
    pub fn cease(subcode: u8) -> Notification {
        Notification::new(CEASE, subcode, Vec::new())
    }

    /// Cease / Administrative Shutdown (6/2) or Administrative Reset (6/4)
    /// with a shutdown communication (RFC 9003: length octet, UTF-8, at
    /// most 255 octets; longer messages are cut at a character boundary).
    /// An empty message sends no data.
    pub fn shutdown(subcode: u8, message: &str) -> Notification {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let msg = &message.as_bytes()[..end];
        let data = if msg.is_empty() {
            Vec::new()
        } else {
            let mut d = Vec::with_capacity(1 + msg.len());
            d.push(msg.len() as u8);
            d.extend_from_slice(msg);
            d
        };
        Notification::new(CEASE, subcode, data)
    }

    /// Cease / Connection Collision Resolution (6/7).
    pub fn connection_collision() -> Notification {
        Notification::cease(CONNECTION_COLLISION)
    }

    /// OPEN / Bad Peer AS (2/2); the data is the AS as the OPEN carried it
    /// (the 2-octet field, or the 4 octets of the capability when larger).
    pub fn bad_peer_as(asn: u32) -> Notification {
        let data = match u16::try_from(asn) {
            Ok(a) => a.to_be_bytes().to_vec(),
            Err(_) => asn.to_be_bytes().to_vec(),
        };
        Notification::new(OPEN, BAD_PEER_AS, data)
    }

    /// OPEN / Unacceptable Hold Time (2/6) with the offered hold time.
    pub fn unacceptable_hold_time(hold_time: u16) -> Notification {
        Notification::new(
            OPEN,
            UNACCEPTABLE_HOLD_TIME,
            hold_time.to_be_bytes().to_vec(),
        )
    }

    /// OPEN / Unsupported Capability (2/7, RFC 5492): the data lists the
    /// capabilities we need and the peer did not offer, encoded as in OPEN.
    pub fn unsupported_capability(caps: &[Capability]) -> Notification {
        let mut data = Vec::new();
        for c in caps {
            super::open::emit_capability(c, &mut data);
        }
        Notification::new(OPEN, UNSUPPORTED_CAPABILITY, data)
    }

    /// The shutdown communication of a Cease 6/2 or 6/4 (RFC 9003), if any.
    pub fn shutdown_message(&self) -> Option<String> {
        if self.code != CEASE || !matches!(self.subcode, ADMIN_SHUTDOWN | ADMIN_RESET) {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let msg = rest.get(..usize::from(len))?;
        Some(String::from_utf8_lossy(msg).into_owned())
    }

    /// A one-line description for logs, e.g. "Cease / Maximum Number of
    /// Prefixes Reached (AFI 1, SAFI 1, limit 100)".
    pub fn describe(&self) -> String {
        let code = code_name(self.code)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Unknown error code {}", self.code));
        let sub = match subcode_name(self.code, self.subcode) {
            Some(s) => format!(" / {s}"),
            None if self.subcode == 0 => String::new(),
            None => format!(" / subcode {}", self.subcode),
        };
        let detail = self.describe_data();
        format!("{code}{sub}{detail}")
    }

    fn describe_data(&self) -> String {
        let d = &self.data;
        let two = || {
            <[u8; 2]>::try_from(d.as_slice())
                .ok()
                .map(u16::from_be_bytes)
        };
        let extra = match (self.code, self.subcode) {
            _ if d.is_empty() => return String::new(),
            (CEASE, MAX_PREFIXES) => self
                .max_prefixes_data()
                .map(|(afi, safi, limit)| format!("AFI {afi}, SAFI {safi}, limit {limit}")),
            (CEASE, ADMIN_SHUTDOWN | ADMIN_RESET) => self
                .shutdown_message()
                .map(|m| format!("\"{}\"", m.escape_debug())),
            (MESSAGE_HEADER, BAD_MESSAGE_LENGTH) => two().map(|l| format!("length {l}")),
            (MESSAGE_HEADER, BAD_MESSAGE_TYPE) if d.len() == 1 => Some(format!("type {}", d[0])),
            (OPEN, UNSUPPORTED_VERSION) => two().map(|v| format!("we support version {v}")),
            (OPEN, BAD_PEER_AS) => match d.len() {
                2 | 4 => Some(format!(
                    "AS {}",
                    d.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b))
                )),
                _ => None,
            },
            (OPEN, BAD_BGP_IDENTIFIER) if d.len() == 4 => {
                Some(format!("identifier {}.{}.{}.{}", d[0], d[1], d[2], d[3]))
            }
            (OPEN, UNACCEPTABLE_HOLD_TIME) => two().map(|h| format!("hold time {h}")),
            (OPEN, UNSUPPORTED_CAPABILITY) if d.len() >= 2 => {
                let mut codes = Vec::new();
                let mut rest = d.as_slice();
                while let [c, l, tail @ ..] = rest {
                    codes.push(c.to_string());
                    rest = tail.get(usize::from(*l)..).unwrap_or(&[]);
                }
                Some(format!("capability {}", codes.join(", ")))
            }
            (UPDATE, ATTRIBUTE_FLAGS..=OPTIONAL_ATTRIBUTE | UNRECOGNIZED_WELL_KNOWN)
                if d.len() >= 2 =>
            {
                Some(format!("attribute type {}", d[1]))
            }
            (UPDATE, MISSING_WELL_KNOWN) if d.len() == 1 => {
                Some(format!("attribute type {}", d[0]))
            }
            _ => None,
        };
        let extra = extra.unwrap_or_else(|| {
            let hex: String = d.iter().take(32).map(|b| format!("{b:02x}")).collect();
            let more = if d.len() > 32 { "..." } else { "" };
            format!("data {hex}{more}")
        });
        format!(" ({extra})")
    }

    /// Parses the body (after the header).
    pub(crate) fn parse_body(body: &[u8]) -> Option<Notification> {
        let [code, subcode, data @ ..] = body else {
            return None;
        };
        Some(Notification::new(*code, *subcode, data.to_vec()))
    }

    /// Appends the body (after the header).
    pub(crate) fn emit_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}
