//! The scenario report: text, JSON and JUnit XML.

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::capture::CaptureInfo;
use crate::scenario::{Filter, Scenario};

/// One expectation's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectationResult {
    /// The expectation in words, with its timing.
    pub description: String,
    /// Whether it held.
    pub passed: bool,
    /// What was observed (or why it could not be checked).
    pub observed: String,
}

/// One tunnel state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Milliseconds since the start (virtual time).
    pub at_ms: u64,
    /// `"cgw"` or `"aws"`.
    pub side: String,
    /// Tunnel 1 or 2.
    pub tunnel: u8,
    /// What happened.
    pub event: String,
}

/// One AWS tunnel log record, with its tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsLogEntry {
    /// Tunnel 1 or 2.
    pub tunnel: u8,
    /// Milliseconds since the start (virtual time).
    pub at_ms: u64,
    /// The record as AWS writes it.
    #[serde(flatten)]
    pub record: crate::aws::logs::TunnelLogRecord,
}

/// One AWS BGP log record of a run, with its tunnel and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsBgpLogEntry {
    /// Tunnel 1 or 2.
    pub tunnel: u8,
    /// Milliseconds since the start (virtual time).
    pub at_ms: u64,
    /// The record as AWS writes it.
    #[serde(flatten)]
    pub record: crate::aws::logs::BgpLogRecord,
}

/// How many of each tunnel's last AWS log records the text report shows.
const AWS_LOG_TAIL: usize = 3;

/// The result of running one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// The seed it ran with.
    pub seed: u64,
    /// True when every expectation held and nothing was unsupported.
    pub passed: bool,
    /// Each expectation, in file order.
    pub expectations: Vec<ExpectationResult>,
    /// Problems outside the expectations: configuration or faults the
    /// runner does not support yet, a topology it could not build. Any
    /// entry fails the scenario.
    pub errors: Vec<String>,
    /// Informational notes that do not fail the scenario (how the runner
    /// stood in for something it does not run yet).
    pub notes: Vec<String>,
    /// The diagnoses of the failures seen, in words.
    pub diagnoses: Vec<String>,
    /// Tunnel state changes, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// Virtual time the run covered, in milliseconds.
    pub simulated_ms: u64,
    /// Simulator events processed (packets delivered, timers run).
    pub sim_events: u64,
    /// Where the packet capture went (`lab run --pcap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureInfo>,
    /// The AWS tunnel log records (AWS-VPN-FACTS.md section 4), tunnel 1's
    /// then tunnel 2's, each in time order.
    pub aws_logs: Vec<AwsLogEntry>,
    /// The AWS BGP log records (BGPStatus and RouteStatus), tunnel 1's
    /// then tunnel 2's, each in time order.
    pub aws_bgp_logs: Vec<AwsBgpLogEntry>,
}

impl ScenarioReport {
    pub(crate) fn new(s: &Scenario, seed: u64) -> ScenarioReport {
        ScenarioReport {
            name: s.name.clone(),
            seed,
            passed: false,
            expectations: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            diagnoses: Vec::new(),
            timeline: Vec::new(),
            simulated_ms: 0,
            sim_events: 0,
            capture: None,
            aws_logs: Vec::new(),
            aws_bgp_logs: Vec::new(),
        }
    }

    pub(crate) fn finish(&mut self) {
        self.passed = self.errors.is_empty() && self.expectations.iter().all(|e| e.passed);
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for ScenarioReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} (seed {})",
            if self.passed { "PASS" } else { "FAIL" },
            self.name,
            self.seed
        )?;
        for e in &self.errors {
            writeln!(f, "  error: {e}")?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        for e in &self.expectations {
            writeln!(
                f,
                "  [{}] {}: observed {}",
                if e.passed { "ok" } else { "FAILED" },
                e.description,
                e.observed
            )?;
        }
        if !self.timeline.is_empty() {
            writeln!(f, "  timeline:")?;
            for t in &self.timeline {
                writeln!(
                    f,
                    "    {:>9.3}s {} tunnel {}: {}",
                    t.at_ms as f64 / 1000.0,
                    t.side,
                    t.tunnel,
                    t.event
                )?;
            }
        }
        if let Some(c) = &self.capture {
            writeln!(
                f,
                "  capture: {} ({}; keys of {} IKE SAs and {} ESP SAs)",
                c.dir,
                c.files.join(", "),
                c.ike_sas,
                c.esp_sas
            )?;
            writeln!(f, "    open with: {}", c.tshark)?;
        }
        for tunnel in [1, 2] {
            let recs: Vec<&AwsLogEntry> = self
                .aws_logs
                .iter()
                .filter(|e| e.tunnel == tunnel)
                .collect();
            writeln!(
                f,
                "  aws log tunnel {tunnel}: {} record(s){}",
                recs.len(),
                if recs.len() > AWS_LOG_TAIL {
                    ", the last:"
                } else {
                    ""
                }
            )?;
            for e in recs.iter().skip(recs.len().saturating_sub(AWS_LOG_TAIL)) {
                writeln!(
                    f,
                    "    {:>9.3}s [{:?}/{:?}] {}",
                    e.at_ms as f64 / 1000.0,
                    e.record.ike_phase1_state,
                    e.record.ike_phase2_state,
                    e.record.details
                )?;
            }
            let bgp = self
                .aws_bgp_logs
                .iter()
                .filter(|e| e.tunnel == tunnel)
                .count();
            if bgp > 0 {
                writeln!(
                    f,
                    "  aws BGP log tunnel {tunnel}: {bgp} record(s) (in --json)"
                )?;
            }
        }
        if !self.passed && !self.diagnoses.is_empty() {
            writeln!(f, "  diagnosis:")?;
            for d in &self.diagnoses {
                for (i, line) in d.lines().enumerate() {
                    writeln!(f, "    {}{line}", if i == 0 { "" } else { "  " })?;
                }
            }
        }
        Ok(())
    }
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Minimal JUnit XML: one test suite per scenario, one test case per
/// expectation (plus one per error).
pub fn junit_xml(reports: &[ScenarioReport]) -> String {
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for r in reports {
        let failures = r.expectations.iter().filter(|e| !e.passed).count() + r.errors.len();
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml_escape(&r.name),
            r.expectations.len() + r.errors.len()
        );
        for e in &r.errors {
            let _ = writeln!(
                o,
                "    <testcase classname=\"{0}\" name=\"runner\"><failure message=\"{1}\"/></testcase>",
                xml_escape(&r.name),
                xml_escape(e)
            );
        }
        for e in &r.expectations {
            let _ = write!(
                o,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&r.name),
                xml_escape(&e.description)
            );
            if e.passed {
                o.push_str("/>\n");
            } else {
                let _ = writeln!(
                    o,
                    "><failure message=\"observed {}\"/></testcase>",
                    xml_escape(&e.observed)
                );
            }
        }
        o.push_str("  </testsuite>\n");
    }
    o.push_str("</testsuites>\n");
    o
}

pub(crate) fn filter_text(f: &Filter) -> String {
    let mut parts = Vec::new();
    if let Some(p) = f.protocol {
        parts.push(format!("{p:?}").to_lowercase());
    }
    if let Some(p) = f.port {
        parts.push(format!("port {p}"));
    }
    if let Some(a) = f.address {
        parts.push(format!("address {a}"));
    }
    if let Some(l) = &f.link {
        parts.push(format!("on {l}"));
    }
    parts.join(" ")
}
