//! Whether a scenario can run on the kernel lab, and why not.
//!
//! The kernel lab runs in real time on real links, so it refuses what only
//! the simulated network can do: latency and jitter (no `tc netem` on
//! these kernels), IKE message drop/mangle (no IKE-aware box in the path),
//! an MTU on one AWS tunnel's path alone (both share one veth), and hours
//! of protocol time (anything past [`MAX_KERNEL_DURATION`]). A scenario
//! file can also opt out itself with `[scenario] modes = ["sim"]`.

use std::net::IpAddr;
use std::time::Duration;

use super::faults::{IKE_MESSAGE_FAULTS, NO_NETEM};
use crate::scenario::{FaultAction, Scenario, Timing};

/// The longest timeline the kernel lab runs: 5 minutes of wall time per
/// scenario is already a long CI step.
pub const MAX_KERNEL_DURATION: Duration = Duration::from_secs(300);

/// The verdict of [`kernel_support`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelSupport {
    /// Why the scenario cannot run on the kernel (empty: it can).
    pub blockers: Vec<String>,
    /// Faults that are not network faults: the kernel runner must have
    /// the gateways apply them (`restart`, `replace_endpoint`,
    /// `announce_prefixes`, `set_lifetime`).
    pub for_gateways: Vec<String>,
}

impl KernelSupport {
    /// True when nothing blocks a kernel run.
    pub fn can_run(&self) -> bool {
        self.blockers.is_empty()
    }
}

/// How long the scenario's timeline is: its last fault or expectation
/// (an `after` one is watched 30 s further, as the simulated runner does).
pub fn timeline_length(s: &Scenario) -> Duration {
    let expectations = s.expectations.iter().map(|e| match e.timing {
        Timing::Within(d) | Timing::At(d) => d,
        Timing::After(d) => d + Duration::from_secs(30),
    });
    expectations
        .chain(s.faults.iter().map(|f| f.at))
        .max()
        .unwrap_or(Duration::from_secs(60))
}

/// Whether `s` can run on the kernel lab, and every reason it cannot.
pub fn kernel_support(s: &Scenario) -> KernelSupport {
    let mut v = KernelSupport::default();
    if !s.modes.kernel {
        v.blockers
            .push("marked simulated-only ([scenario] modes leaves out \"kernel\")".into());
    }
    let length = timeline_length(s);
    if length > MAX_KERNEL_DURATION {
        v.blockers.push(format!(
            "its timeline runs {} s; the kernel lab runs in real time and takes at most {} s",
            length.as_secs(),
            MAX_KERNEL_DURATION.as_secs()
        ));
    }
    let aws_link = |l: &str| l == "aws1-wan" || l == "aws2-wan";
    let shared_mtu = |l: &str| {
        format!("an MTU on {l} alone: aws1-wan and aws2-wan share one veth in the kernel lab")
    };
    for (name, l) in &s.topology.links {
        if l.latency.is_some() || l.jitter.is_some() {
            v.blockers.push(format!(
                "[topology.links.{name}] latency/jitter: {NO_NETEM}"
            ));
        }
        if l.mtu.is_some() && aws_link(name) {
            v.blockers.push(shared_mtu(name));
        }
    }
    for f in &s.faults {
        let at = f.at.as_secs();
        match &f.action {
            FaultAction::Impair(i) => {
                if i.latency.is_some() || i.jitter.is_some() {
                    v.blockers.push(format!(
                        "fault at {at} s: impair {} latency/jitter: {NO_NETEM}",
                        i.link
                    ));
                }
                if i.mtu.is_some() && aws_link(&i.link) {
                    v.blockers
                        .push(format!("fault at {at} s: {}", shared_mtu(&i.link)));
                }
            }
            FaultAction::DropIkeMessage(_) => v.blockers.push(format!(
                "fault at {at} s: drop_ike_message: {IKE_MESSAGE_FAULTS}"
            )),
            FaultAction::MangleIkeMessage(_) => v.blockers.push(format!(
                "fault at {at} s: mangle_ike_message: {IKE_MESSAGE_FAULTS}"
            )),
            FaultAction::SetCgwSourceAddress(IpAddr::V6(a)) => v.blockers.push(format!(
                "fault at {at} s: set_cgw_source_address {a}: the kernel lab is IPv4"
            )),
            FaultAction::Restart(n) => v.for_gateways.push(format!("restart {n}")),
            FaultAction::ReplaceEndpoint(t) => v
                .for_gateways
                .push(format!("replace_endpoint {}", t.number())),
            FaultAction::AnnouncePrefixes(a) => v
                .for_gateways
                .push(format!("announce_prefixes {}", a.count)),
            FaultAction::SetLifetime(_) => v.for_gateways.push("set_lifetime".into()),
            _ => {}
        }
    }
    if let Err(e) = super::topology::check_plan(s) {
        v.blockers.push(e.to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        Scenario::from_toml(&format!("[scenario]\nname = \"x\"\n{extra}"), "x.toml").unwrap()
    }

    #[test]
    fn a_plain_scenario_runs_on_the_kernel() {
        let s = scenario("[[expect]]\nwithin = \"30s\"\ntunnel = 1\nphase1 = \"established\"\n");
        assert!(kernel_support(&s).can_run(), "{:?}", kernel_support(&s));
    }

    #[test]
    fn each_blocker_is_named() {
        let s = scenario(
            "modes = [\"sim\"]\n\
             [[fault]]\nat = \"10s\"\nimpair = { link = \"cgw-wan\", latency = \"80ms\" }\n\
             [[fault]]\nat = \"0s\"\ndrop_ike_message = { n = 1 }\n\
             [[fault]]\nat = \"20s\"\nimpair = { link = \"aws1-wan\", mtu = 1400 }\n\
             [[fault]]\nat = \"30s\"\nrestart = \"cgw\"\n\
             [[expect]]\nwithin = \"2h\"\ntunnel = 1\nphase1 = \"established\"\n",
        );
        let k = kernel_support(&s);
        let text = k.blockers.join("\n");
        for want in ["modes", "7200 s", "netem", "IKE message", "share one veth"] {
            assert!(text.contains(want), "{want:?} missing in:\n{text}");
        }
        assert_eq!(k.for_gateways, vec!["restart cgw".to_string()]);
    }

    #[test]
    fn bad_modes_are_refused_at_the_key() {
        for (modes, want) in [
            ("[]", "at least one"),
            ("[\"kernel\", \"kernel\"]", "twice"),
            ("[\"netns\"]", "unknown mode"),
        ] {
            let e = Scenario::from_toml(
                &format!("[scenario]\nname = \"x\"\nmodes = {modes}\n"),
                "x.toml",
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("scenario.modes") && e.contains(want), "{e}");
        }
        let s = scenario("modes = [\"kernel\"]\n");
        assert!(!s.modes.sim && s.modes.kernel);
    }
}
