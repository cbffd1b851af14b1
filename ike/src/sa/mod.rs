//! IKE SA and child SA state machines (RFC 7296), initiator and responder.
//!
//! [`IkeSa`] is the engine for one peer; [`IkeConfig`] says what it offers
//! and accepts; [`Event`] is what it reports. Proposal choice is pluggable
//! through [`ProposalPolicy`].

mod config;
mod cookie;
mod endpoint;
mod event;
mod exchange_additional_child;
mod exchange_auth;
mod exchange_create_child;
mod exchange_init;
mod fragment;
mod fuzzing;
mod ike_sa;
mod informational;
mod keylog;
mod liveness;
mod lookup;
pub mod loopback;
mod nat;
pub mod proposal;
mod protect;
pub mod selectors;
mod timer;
mod version;

pub use config::{Dpd, DpdAction, Identity, IkeConfig, Lifetimes, Retransmit};
pub use cookie::{EndpointStats, COOKIE_LEN};
pub use endpoint::{Endpoint, Received, SaId};
pub use event::{
    auth_failure, ChildSaInfo, DeletedBy, EspKeys, Event, Failure, IkeSaInfo, NatState, Role,
};
pub use exchange_init::AcceptError;
pub use fragment::{FragmentError, FragmentStats, MAX_FRAGMENTS, MAX_REASSEMBLED};
pub use ike_sa::{IkeSa, IkeStats, State, Transmit};
pub use keylog::{EspKeyRow, IkeKeyRow};
pub use liveness::DeleteError;
pub use nat::KEEPALIVE;
pub use proposal::{
    EspProposal, EspSuite, IkeProposal, IkeSuite, Mismatch, PreferOwn, PreferPeer, ProposalPolicy,
};
pub use protect::OpenError;
