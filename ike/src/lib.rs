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
//! - [`ikev1`]: the first IKEv1 Main Mode message, wire format only (to
//!   play an IKEv1-only device against an IKEv2-only peer).

#![warn(missing_docs)]

pub mod crypto;
pub mod esp;
pub mod ikev1;
pub mod natt;
pub mod sa;
pub mod wire;
