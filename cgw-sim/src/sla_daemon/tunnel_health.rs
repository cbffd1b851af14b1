//! Per-tunnel health: the operations pinned to one tunnel (their `tunnel`
//! key) summed into one verdict, so an alert can ask "is tunnel 2
//! healthy?" without knowing which operations watch it. Derived from the
//! snapshot on demand (status table, `/metrics`), never stored.

use serde::{Deserialize, Serialize};

use super::snapshot::{OpSnapshot, SlaStatus};

/// One tunnel's operations, summed over their sliding windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunnelHealth {
    /// The tunnel (1 or 2, as AWS counts them).
    pub tunnel: u8,
    /// Operations pinned to it.
    pub operations: usize,
    /// Of those, operations whose track is up.
    pub tracks_up: usize,
    /// Every operation's track is up (an operation not yet judged, track
    /// `unknown`, makes this false: health is not assumed).
    pub up: bool,
    /// Lost or unreachable probes as a percentage of those settled, over
    /// all its operations' windows.
    pub loss_percent: Option<f64>,
    /// Mean RTT over every answered probe in those windows, ms.
    pub rtt_avg_ms: Option<f64>,
}

impl SlaStatus {
    /// The health of each tunnel some operation is pinned to, by tunnel.
    pub fn tunnels(&self) -> Vec<TunnelHealth> {
        let mut numbers: Vec<u8> = self.operations.iter().filter_map(|o| o.tunnel).collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers
            .into_iter()
            .map(|t| health(t, self.operations.iter().filter(|o| o.tunnel == Some(t))))
            .collect()
    }
}

fn health<'a>(tunnel: u8, ops: impl Iterator<Item = &'a OpSnapshot>) -> TunnelHealth {
    let (mut operations, mut tracks_up) = (0, 0);
    let (mut bad, mut settled, mut received, mut rtt_sum) = (0u64, 0u64, 0u64, 0.0);
    for o in ops {
        operations += 1;
        tracks_up += usize::from(o.track == "up");
        let w = &o.window;
        bad += w.lost + w.unreachable;
        settled += w.received + w.lost + w.unreachable;
        if let Some(avg) = w.rtt_avg_ms {
            received += w.received;
            rtt_sum += avg * w.received as f64;
        }
    }
    TunnelHealth {
        tunnel,
        operations,
        tracks_up,
        up: operations > 0 && tracks_up == operations,
        loss_percent: (settled > 0).then(|| bad as f64 * 100.0 / settled as f64),
        rtt_avg_ms: (received > 0).then(|| rtt_sum / received as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::{Figures, Histogram};
    use super::*;

    fn op(name: &str, tunnel: Option<u8>, track: &str, w: Figures) -> OpSnapshot {
        OpSnapshot {
            name: name.into(),
            kind: "icmp-echo".into(),
            target: "169.254.10.1".into(),
            tunnel,
            cycles: 3,
            last_code: Some("OK".into()),
            track: track.into(),
            raised: Vec::new(),
            mos: None,
            icpif: None,
            interarrival_jitter_ms: 0.0,
            window: w,
            total: Figures::default(),
            rtt_histogram: Histogram::default(),
        }
    }

    fn fig(received: u64, lost: u64, unreachable: u64, rtt: Option<f64>) -> Figures {
        Figures {
            sent: received + lost + unreachable,
            received,
            lost,
            unreachable,
            rtt_avg_ms: rtt,
            ..Figures::default()
        }
    }

    #[test]
    fn operations_of_a_tunnel_are_summed_and_others_left_out() {
        let s = SlaStatus {
            operations: vec![
                op("a", Some(2), "up", fig(9, 1, 0, Some(10.0))),
                op("b", Some(2), "down", fig(1, 0, 2, Some(40.0))),
                op("c", Some(1), "up", fig(5, 0, 0, Some(1.0))),
                op("d", None, "down", fig(0, 5, 0, None)),
            ],
            ..SlaStatus::default()
        };
        let t = s.tunnels();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].tunnel, t[0].up, t[0].operations), (1, true, 1));
        let t2 = &t[1];
        assert_eq!(
            (t2.tunnel, t2.up, t2.tracks_up, t2.operations),
            (2, false, 1, 2)
        );
        // 3 bad of 13 settled; RTT (9 x 10 + 1 x 40) / 10.
        assert!((t2.loss_percent.unwrap() - 300.0 / 13.0).abs() < 1e-9);
        assert!((t2.rtt_avg_ms.unwrap() - 13.0).abs() < 1e-9);
    }

    #[test]
    fn an_unjudged_track_is_not_health() {
        let s = SlaStatus {
            operations: vec![op("a", Some(1), "unknown", Figures::default())],
            ..SlaStatus::default()
        };
        let t = &s.tunnels()[0];
        assert!(!t.up);
        assert_eq!((t.loss_percent, t.rtt_avg_ms), (None, None));
    }
}
