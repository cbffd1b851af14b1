//! What AWS Site-to-Site VPN accepts (AWS-VPN-FACTS.md section 1), as IKE
//! configuration. The AWS mock (issue 5) builds on this.

mod proposals;

pub use proposals::{aws_esp_proposals, aws_ike_proposals, AWS_PHASE1_GROUPS};
