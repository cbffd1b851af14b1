//! The prober's result, its comparison with AWS's allowed phase 1 values,
//! and its text and JSON renderings.

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};

use super::plan::Candidate;
use crate::aws::options::{Encryption, Integrity, PHASE1_GROUP_IDS};

/// Transforms by type, in the probe's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformSet {
    /// Encryption algorithms.
    pub encryption: Vec<EncrAlg>,
    /// Integrity algorithms.
    pub integrity: Vec<IntegAlg>,
    /// PRFs.
    pub prf: Vec<PrfAlg>,
    /// Diffie-Hellman groups.
    pub dh_groups: Vec<DhGroup>,
}

impl TransformSet {
    /// Adds `c` to the list of its type.
    pub(super) fn push(&mut self, c: Candidate) {
        match c {
            Candidate::Encr(e) => self.encryption.push(e),
            Candidate::Integ(i) => self.integrity.push(i),
            Candidate::Prf(p) => self.prf.push(p),
            Candidate::Dh(g) => self.dh_groups.push(g),
        }
    }

    /// Every transform in the set.
    pub fn candidates(&self) -> Vec<Candidate> {
        let mut v: Vec<Candidate> = self
            .encryption
            .iter()
            .copied()
            .map(Candidate::Encr)
            .collect();
        v.extend(self.integrity.iter().copied().map(Candidate::Integ));
        v.extend(self.prf.iter().copied().map(Candidate::Prf));
        v.extend(self.dh_groups.iter().copied().map(Candidate::Dh));
        v
    }

    /// The transforms by type, labelled as the report prints them.
    pub fn by_type(&self) -> [(&'static str, Vec<Candidate>); 4] {
        [
            (
                "encryption",
                self.encryption
                    .iter()
                    .copied()
                    .map(Candidate::Encr)
                    .collect(),
            ),
            (
                "integrity",
                self.integrity
                    .iter()
                    .copied()
                    .map(Candidate::Integ)
                    .collect(),
            ),
            (
                "prf",
                self.prf.iter().copied().map(Candidate::Prf).collect(),
            ),
            (
                "dh groups",
                self.dh_groups.iter().copied().map(Candidate::Dh).collect(),
            ),
        ]
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.candidates().is_empty()
    }
}

/// What a probe found out about the responder's IKE SA (phase 1) proposals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeReport {
    /// Transforms the responder accepts (in some combination).
    pub accepted: TransformSet,
    /// Transforms it refused (NO_PROPOSAL_CHOSEN).
    pub refused: TransformSet,
    /// Transforms with no verdict: unanswered, an unexpected answer, or the
    /// request cap reached.
    pub unknown: TransformSet,
    /// Datagrams sent, retransmissions included.
    pub requests_sent: u32,
    /// Requests that got no answer after every retry.
    pub unanswered: u32,
    /// Answers that were neither acceptance nor refusal, as received.
    pub notes: Vec<String>,
}

/// Why phase 2 is not in the report.
pub const PHASE2_NOTE: &str = "phase 2 (ESP) transforms not probed: child SA proposals are \
negotiated in IKE_AUTH, after authentication, and probe never authenticates";

/// The name of a transform as the report prints it.
pub fn name(c: Candidate) -> String {
    match c {
        Candidate::Encr(e) => e.name(),
        Candidate::Integ(i) => i.id().to_string(),
        Candidate::Prf(p) => p.id().to_string(),
        Candidate::Dh(g) => (g as u16).to_string(),
    }
}

/// Whether AWS allows `c` in phase 1 (cgw-sim/src/aws/options.rs).
pub fn aws_allows(c: Candidate) -> bool {
    match c {
        Candidate::Encr(e) => Encryption::ALL.iter().any(|a| a.alg() == e),
        Candidate::Integ(i) => Integrity::ALL.iter().any(|a| a.integ() == i),
        Candidate::Prf(p) => Integrity::ALL.iter().any(|a| a.prf() == p),
        Candidate::Dh(g) => PHASE1_GROUP_IDS.contains(&(g as u16)),
    }
}

fn names(cs: &[Candidate]) -> Vec<String> {
    cs.iter().copied().map(name).collect()
}

fn joined(cs: &[Candidate]) -> String {
    if cs.is_empty() {
        "-".into()
    } else {
        names(cs).join(", ")
    }
}

impl ProbeReport {
    /// Accepted transforms AWS does not allow in phase 1.
    pub fn beyond_aws(&self) -> Vec<Candidate> {
        let acc = self.accepted.candidates();
        acc.into_iter().filter(|c| !aws_allows(*c)).collect()
    }

    /// AWS-allowed transforms the responder refused.
    pub fn refused_aws(&self) -> Vec<Candidate> {
        let refused = self.refused.candidates();
        refused.into_iter().filter(|c| aws_allows(*c)).collect()
    }

    /// Accepted transforms AWS also allows: what a tunnel to AWS can use.
    pub fn common_with_aws(&self) -> Vec<Candidate> {
        let acc = self.accepted.candidates();
        acc.into_iter().filter(|c| aws_allows(*c)).collect()
    }

    /// The human-readable report for `peer`.
    pub fn render_text(&self, peer: &str) -> String {
        let mut s = format!(
            "probe {peer}: {} requests sent, {} unanswered (IKE_SA_INIT only, never authenticated)\n",
            self.requests_sent, self.unanswered
        );
        s.push_str("phase 1 (IKE SA):\n");
        let (acc, refd, unk) = (
            self.accepted.by_type(),
            self.refused.by_type(),
            self.unknown.by_type(),
        );
        for i in 0..4 {
            let label = acc[i].0;
            s.push_str(&format!(
                "  {label}:\n    accepted: {}\n    refused:  {}\n",
                joined(&acc[i].1),
                joined(&refd[i].1)
            ));
            let unknown = &unk[i].1;
            if !unknown.is_empty() {
                s.push_str(&format!("    unknown:  {}\n", joined(unknown)));
            }
        }
        s.push_str("compared with AWS's phase 1 values:\n");
        s.push_str(&format!(
            "  usable with AWS:          {}\n",
            joined(&self.common_with_aws())
        ));
        s.push_str(&format!(
            "  accepted, AWS disallows:  {}\n",
            joined(&self.beyond_aws())
        ));
        s.push_str(&format!(
            "  AWS allows, peer refuses: {}\n",
            joined(&self.refused_aws())
        ));
        for n in &self.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        s.push_str(PHASE2_NOTE);
        s.push('\n');
        s
    }

    /// The report as JSON for `peer`.
    pub fn render_json(&self, peer: &str) -> String {
        let set = |t: &TransformSet| {
            let [e, i, p, _] = t.by_type();
            serde_json::json!({
                "encryption": names(&e.1),
                "integrity": names(&i.1),
                "prf": names(&p.1),
                "dh_groups": t.dh_groups.iter().map(|g| *g as u16).collect::<Vec<_>>(),
            })
        };
        serde_json::json!({
            "peer": peer,
            "requests_sent": self.requests_sent,
            "unanswered": self.unanswered,
            "phase1": {
                "accepted": set(&self.accepted),
                "refused": set(&self.refused),
                "unknown": set(&self.unknown),
            },
            "aws": {
                "usable": names(&self.common_with_aws()),
                "accepted_not_allowed_by_aws": names(&self.beyond_aws()),
                "allowed_by_aws_refused": names(&self.refused_aws()),
            },
            "notes": self.notes,
            "phase2": PHASE2_NOTE,
        })
        .to_string()
    }
}
