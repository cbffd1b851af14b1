//! Scenario files: the typed model of `scenarios/*.toml` and its loader.
//!
//! A scenario names a topology, the AWS side's options, the customer
//! gateway's configuration, faults on a timeline and expectations on a
//! timeline. [`Scenario::load`] reads one file; every mistake in it (an
//! unknown key, a wrong type, an impossible value) is a [`ScenarioError`]
//! naming the file, the line and column, and the key path. The format is
//! documented in `docs/scenarios.md`.

#![deny(missing_docs)]

pub(crate) mod duration;
mod load;
mod model;

pub use duration::{format_duration, parse_duration, DurationError};
pub use load::ScenarioError;
pub(crate) use load::{check_aws, check_cgw, check_hold_time, check_vpn_rules};
pub use model::*;
