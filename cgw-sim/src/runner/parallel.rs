//! Running independent jobs (scenarios) on several threads while handing
//! their results over in input order, so that the output of a parallel run
//! is the output of a sequential one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// The number of worker threads to use by default: the cores available to
/// this process (1 if that cannot be known).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `f` on every item on at most `jobs` threads (at least one, at most
/// one per item) and calls `done(index, &result)` for each result in input
/// order, as soon as it and every earlier one are finished. Returns the
/// results in input order. With `jobs == 1` everything runs on the calling
/// thread.
pub fn map_ordered<T, R, F, D>(items: &[T], jobs: usize, f: F, mut done: D) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
    D: FnMut(usize, &R),
{
    let workers = jobs.clamp(1, items.len().max(1));
    if workers == 1 {
        return items
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let r = f(t);
                done(i, &r);
                r
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, R)>();
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, f) = (&next, &f);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    break;
                };
                if tx.send((i, f(item))).is_err() {
                    break;
                }
            });
        }
        // Only the workers hold senders now: the loop ends when all are done
        // (or one panicked, which `scope` then propagates).
        drop(tx);
        let mut shown = 0;
        for (i, r) in rx {
            slots[i] = Some(r);
            while let Some(Some(r)) = slots.get(shown) {
                done(shown, r);
                shown += 1;
            }
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_callbacks_come_in_input_order_whatever_the_jobs() {
        let items: Vec<u64> = (0..40).collect();
        // Later items finish first: the order must not follow completion.
        let work = |x: &u64| {
            std::thread::sleep(std::time::Duration::from_millis((40 - x) / 4));
            x * x
        };
        for jobs in [1, 2, 3, 8, 100] {
            let mut seen = Vec::new();
            let out = map_ordered(&items, jobs, work, |i, r| seen.push((i, *r)));
            let want: Vec<u64> = items.iter().map(|x| x * x).collect();
            assert_eq!(out, want, "jobs {jobs}");
            let want_seen: Vec<(usize, u64)> = want.iter().copied().enumerate().collect();
            assert_eq!(seen, want_seen, "jobs {jobs}");
        }
    }

    #[test]
    fn runs_on_several_threads_when_asked() {
        let items: Vec<u32> = (0..8).collect();
        let out = map_ordered(
            &items,
            4,
            |_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                std::thread::current().id()
            },
            |_, _| {},
        );
        let mut ids = out.clone();
        ids.sort_by_key(|id| format!("{id:?}"));
        ids.dedup();
        assert!(ids.len() > 1, "one thread ran everything: {out:?}");
        assert!(!out.contains(&std::thread::current().id()));
    }

    /// `lab run` shares scenarios between worker threads and builds each
    /// simulation on one: a compile-time check.
    #[test]
    fn scenarios_reports_and_nodes_cross_threads() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        sync::<crate::scenario::Scenario>();
        send::<crate::runner::ScenarioReport>();
        send::<crate::node::TunnelGateway>();
        send::<crate::node::BgpHost>();
        send::<lab::Sim>();
    }

    #[test]
    fn no_items_no_calls() {
        let out: Vec<u8> = map_ordered(&[] as &[u8], 4, |x| *x, |_, _| panic!("called"));
        assert!(out.is_empty());
    }
}
