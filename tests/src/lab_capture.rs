//! Scenarios of the simulated lab run the way `cgw-sim lab run --pcap` runs
//! them, into a scratch directory, and read back with tshark using the key
//! files the run wrote. Nothing here needs root or a namespace: the
//! captures come from the simulator's taps.
//!
//! ```no_run
//! use cgw_sim_tests::lab_capture::LabCapture;
//! let cap = LabCapture::run("scenarios/happy-path-static.toml", None);
//! let pings = cap.frames("cgw-wan", "esp && icmp.type == 8");
//! assert!(!pings.is_empty());
//! ```

use std::path::{Path, PathBuf};

use cgw_sim::runner::{self, ScenarioReport};
use cgw_sim::scenario::Scenario;

use crate::proc::TestDir;
use crate::tshark::{self, Dissection};

/// The repository's root (where `scenarios/` is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One scenario run with capture: its report and its capture directory
/// (pcaps and Wireshark key files), removed on drop unless the test failed
/// or `CGWT_KEEP=1`.
pub struct LabCapture {
    dir: TestDir,
    /// The run's report (its `capture` field says what was written).
    pub report: ScenarioReport,
}

impl LabCapture {
    /// Runs the scenario file `path` (relative to the repository root, or
    /// absolute) with `seed` (default: its own) and captures it. Panics if
    /// the file does not load or the capture was not written.
    pub fn run(path: &str, seed: Option<u64>) -> LabCapture {
        let file = repo_root().join(path);
        let s = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let label = s
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>();
        let dir = TestDir::new(&format!("lab-{label}"));
        let report = runner::run_captured(&s, seed.unwrap_or(s.seed), dir.path());
        assert!(
            report.capture.is_some(),
            "{path}: no capture written:\n{report}"
        );
        LabCapture { dir, report }
    }

    /// The capture directory, which is also the Wireshark configuration
    /// directory holding the key files (`WIRESHARK_CONFIG_DIR`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The pcap of a named link (`cgw-wan`, `nat-wan`, `aws1-wan`, ...).
    /// Panics if the run did not capture that link.
    pub fn pcap(&self, link: &str) -> PathBuf {
        let file = format!("{link}.pcap");
        let files = self.report.capture.as_ref().map(|c| &c.files);
        assert!(
            files.is_some_and(|f| f.contains(&file)),
            "no capture of link {link:?}; captured: {files:?}"
        );
        self.dir.join(file)
    }

    /// Summary lines of the frames of `link` matching the display filter
    /// `filter`, decrypted with the run's keys.
    pub fn frames(&self, link: &str, filter: &str) -> Vec<String> {
        tshark::frames(&self.pcap(link), Some(self.dir()), filter)
    }

    /// `fields` of the frames of `link` matching `filter`, decrypted with
    /// the run's keys: one line per frame, fields separated by `|`.
    pub fn fields(&self, link: &str, filter: &str, fields: &[&str]) -> Vec<String> {
        tshark::fields_with(&self.pcap(link), Some(self.dir()), filter, fields)
    }

    /// Dissects `link` with the run's keys; panics (with tshark's account
    /// of the frames) if any frame is malformed or has an error-severity
    /// expert item.
    #[track_caller]
    pub fn check_no_malformed(&self, link: &str) -> Dissection {
        tshark::check_no_malformed_with(&self.pcap(link), Some(self.dir()))
    }
}

/// Runs the scenario file `path` with capture and returns the summary
/// lines of the frames of `link` that match `filter`, decrypted with the
/// run's keys (e.g. `scenario_frames("scenarios/happy-path-static.toml",
/// "cgw-wan", "esp && bgp.type == 1")`).
pub fn scenario_frames(path: &str, link: &str, filter: &str) -> Vec<String> {
    LabCapture::run(path, None).frames(link, filter)
}
