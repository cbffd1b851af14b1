//! Sans-IO IKEv2 (RFC 7296) and ESP (RFC 4303).
//!
//! Nothing in this crate touches a socket, a clock or the OS random source.
//! Every input carries `now`; randomness comes from a seeded generator the
//! caller owns, so the same seed gives the same bytes on the wire.
//!
//! - [`wire`]: the IKEv2 message codec (views and parsed representations).
//! - [`crypto`]: the transforms AWS accepts (and a few more), key derivation.
//! - [`sa`]: IKE SA and child SA state machines, initiator and responder.
//! - [`esp`]: ESP security associations (seal, open, anti-replay).
//! - [`natt`]: NAT traversal helpers (detection hashes, UDP encapsulation).

#![warn(missing_docs)]

pub mod crypto;
pub mod esp;
pub mod natt;
pub mod sa;
pub mod wire;
