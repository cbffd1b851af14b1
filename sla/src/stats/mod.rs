//! Statistics of an operation: RTT ([`rtt`]), jitter ([`jitter`]), loss
//! and order ([`loss`]), voice quality ([`voice`]), and the per-cycle
//! record they are kept in, mergeable so that a sliding window and the
//! totals since start are sums of the same cycles ([`window`]).

pub mod jitter;
pub mod loss;
pub mod rtt;
pub mod voice;
pub mod window;

pub use jitter::{DirectionalJitter, Rfc3550Jitter};
pub use loss::LossCounts;
pub use rtt::{RttStats, Summary};
pub use voice::{Codec, VoiceScore};
pub use window::{CycleStats, Window};
