//! Packet loss and order: how many probes were sent, answered, lost (no
//! answer within the timeout), answered late (after the timeout had
//! already counted them lost), out of sequence (an answer with a lower
//! sequence number than one already received) or duplicated; and for
//! udp-jitter, which direction lost them (the responder says how many it
//! received).

use serde::Serialize;

/// Loss and order counters. Mergeable by adding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LossCounts {
    /// Probes sent.
    pub sent: u64,
    /// Answers received in time.
    pub received: u64,
    /// Probes with no answer within the timeout.
    pub lost: u64,
    /// Answers that came after their timeout (counted lost too).
    pub late: u64,
    /// Answers received after one with a higher sequence number.
    pub out_of_sequence: u64,
    /// Answers to a probe already answered.
    pub duplicates: u64,
    /// Of the lost, lost on the way to the responder (udp-jitter only:
    /// sent minus what the responder counted).
    pub lost_sd: u64,
    /// Of the lost, lost on the way back (udp-jitter only).
    pub lost_ds: u64,
    /// Probes refused or unreachable (ICMP unreachable, TCP reset).
    pub unreachable: u64,
}

impl LossCounts {
    /// Adds `other`'s counters.
    pub fn merge(&mut self, o: &LossCounts) {
        self.sent += o.sent;
        self.received += o.received;
        self.lost += o.lost;
        self.late += o.late;
        self.out_of_sequence += o.out_of_sequence;
        self.duplicates += o.duplicates;
        self.lost_sd += o.lost_sd;
        self.lost_ds += o.lost_ds;
        self.unreachable += o.unreachable;
    }

    /// Lost (or unreachable) as a percentage of what was settled
    /// (answered, lost or unreachable); `None` before anything settled.
    pub fn loss_percent(&self) -> Option<f64> {
        let settled = self.received + self.lost + self.unreachable;
        (settled > 0).then(|| (self.lost + self.unreachable) as f64 * 100.0 / settled as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_over_settled_probes() {
        let mut c = LossCounts {
            sent: 10,
            received: 8,
            lost: 2,
            ..Default::default()
        };
        assert_eq!(c.loss_percent(), Some(20.0));
        c.merge(&LossCounts {
            sent: 10,
            received: 10,
            ..Default::default()
        });
        assert_eq!(c.loss_percent(), Some(10.0));
        assert_eq!(LossCounts::default().loss_percent(), None);
    }
}
