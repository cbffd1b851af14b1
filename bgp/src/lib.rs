//! BGP-4 (RFC 4271) with 4-octet AS numbers (RFC 6793) and multiprotocol
//! IPv6 unicast (RFC 4760), sans-IO: bytes in, bytes out, `now` passed in.
//!
//! - [`route`]: prefixes, AS paths and path attributes as the RIB sees them.
//! - [`wire`]: BGP messages, parse and emit, with RFC 7606 error handling.
//! - [`session`]: the RFC 4271 section 8 state machine over a byte stream,
//!   with connection collision resolution.
//! - [`rib`]: Adj-RIB-In per peer, Loc-RIB with best-path selection and
//!   longest-prefix lookup, Adj-RIB-Out with export policy, maximum-prefix
//!   limits; shared attribute sets keep a full table small.
//! - [`speaker`]: the RIB and one session per peer joined: UPDATEs into
//!   the RIB, exports into the sessions, prefix limits enforced with
//!   Cease 6/1.

#![warn(missing_docs)]

pub mod rib;
pub mod route;
pub mod session;
pub mod speaker;
pub mod wire;
