//! `cgw-sim probe`: IKEv2 proposal enumeration against a responder.
//!
//! [`Prober`] is a sans-IO engine: it sends IKE_SA_INIT requests only
//! (never IKE_AUTH, so nothing is ever authenticated), one transform under
//! test per request, and reads the answers: an SA payload or
//! INVALID_KE_PAYLOAD means the transform is accepted, NO_PROPOSAL_CHOSEN
//! that it is refused. It is rate-limited and bounded (see
//! [`ProbeSettings`]) and ends with a [`ProbeReport`], which
//! [`report`] compares with what AWS allows. Phase 2 (ESP) transforms are
//! negotiated inside IKE_AUTH and cannot be probed without authenticating.
//!
//! [`net`] (Linux) drives the engine on a UDP socket.

mod engine;
#[cfg(target_os = "linux")]
pub mod net;
mod plan;
pub mod report;

pub use engine::{ProbeSettings, Prober};
pub use plan::Candidate;
pub use report::{ProbeReport, TransformSet};
