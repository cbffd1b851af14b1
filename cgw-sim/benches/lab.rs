//! Figures of the simulated lab, printed for the README (not criterion:
//! each is one long measured run, repeated a few times, median shown).
//!
//! - the whole catalogue (`scenarios/*.toml`): wall time one after the
//!   other and on every core, virtual time covered, simulated seconds per
//!   wall second, simulator events per second;
//! - a fleet of customer gateways against one AWS-side gateway
//!   (`cgw_sim::fleet`): set-up and run time, tunnels up, pings answered,
//!   peak resident memory of the process.
//!
//! `cargo bench -p cgw-sim --bench lab [-- N]` (N: fleet size, default
//! 1000).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cgw_sim::fleet::Fleet;
use cgw_sim::runner;
use cgw_sim::scenario::Scenario;

const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak and current resident set size (kB), from /proc.
fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn catalogue() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let scenarios: Vec<Scenario> = files
        .iter()
        .map(|p| Scenario::load(p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut seq = Vec::new();
    let mut par = Vec::new();
    let mut simulated_ms = 0;
    let mut events = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let reports: Vec<_> = scenarios.iter().map(runner::run).collect();
        seq.push(t.elapsed());
        assert!(
            reports.iter().all(|r| r.passed),
            "a catalogue scenario failed"
        );
        simulated_ms = reports.iter().map(|r| r.simulated_ms).sum::<u64>();
        events = reports.iter().map(|r| r.sim_events).sum::<u64>();
        let t = Instant::now();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..cores {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(sc) = scenarios.get(i) else { break };
                    assert!(runner::run(sc).passed);
                });
            }
        });
        par.push(t.elapsed());
    }
    let (seq, par) = (median(seq), median(par));
    let sim_s = simulated_ms as f64 / 1000.0;
    println!(
        "catalogue: {} scenarios, {:.0} s ({:.1} h) of virtual time, {} simulator events",
        scenarios.len(),
        sim_s,
        sim_s / 3600.0,
        events
    );
    println!(
        "  one after the other: {:.3} s wall, {:.0} simulated s per wall s, {:.2} M events/s",
        seq.as_secs_f64(),
        sim_s / seq.as_secs_f64(),
        events as f64 / seq.as_secs_f64() / 1e6
    );
    println!(
        "  on {} cores: {:.3} s wall, {:.0} simulated s per wall s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        par.as_secs_f64(),
        sim_s / par.as_secs_f64()
    );
}

fn fleet(n: usize) {
    let (_, rss0) = rss_kb();
    let t = Instant::now();
    let mut f = Fleet::new(n, 1, &[]);
    let setup = t.elapsed();
    let t = Instant::now();
    f.run_for(Duration::from_secs(60));
    let run = t.elapsed();
    let (hwm, rss) = rss_kb();
    println!(
        "fleet: {n} CGWs against one mock, 60 s of virtual time (IKE_SA_INIT + IKE_AUTH \
         with AWS's default proposals, then a ping every 10 s through each tunnel)"
    );
    println!(
        "  set-up and first second {:.2} s, remaining 59 s {:.2} s wall ({:.1} simulated s per wall s); \
         {} events",
        setup.as_secs_f64(),
        run.as_secs_f64(),
        59.0 / run.as_secs_f64(),
        f.sim.events_run()
    );
    println!(
        "  tunnels up: {} CGW side, {} mock side; pings {} sent, {} answered",
        f.cgws_up(),
        f.mock_tunnels_up(),
        f.pings_sent(),
        f.replies()
    );
    println!(
        "  memory: resident {} MB after (was {} MB before), peak {} MB",
        rss / 1024,
        rss0 / 1024,
        hwm / 1024
    );
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(1000);
    catalogue();
    fleet(n);
}
