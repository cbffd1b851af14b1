//! AWS's accepted transforms, ordered as an AWS endpoint walks them: from
//! the lowest configured value upward, so that with
//! [`ike::sa::PreferOwn`] it picks the weakest transform the CGW offers.

use ike::crypto::{DhGroup, EncrAlg, IntegAlg, PrfAlg};
use ike::sa::{EspProposal, IkeProposal};

/// Phase 1 groups AWS accepts: 2, 14-24 (group 5 only in phase 2).
pub const AWS_PHASE1_GROUPS: [DhGroup; 12] = [
    DhGroup::Modp1024,
    DhGroup::Modp2048,
    DhGroup::Modp3072,
    DhGroup::Modp4096,
    DhGroup::Modp6144,
    DhGroup::Modp8192,
    DhGroup::Ecp256,
    DhGroup::Ecp384,
    DhGroup::Ecp521,
    DhGroup::Modp1024S160,
    DhGroup::Modp2048S224,
    DhGroup::Modp2048S256,
];

const CBC: [EncrAlg; 2] = [
    EncrAlg::AesCbc { key_bits: 128 },
    EncrAlg::AesCbc { key_bits: 256 },
];
const GCM: [EncrAlg; 2] = [
    EncrAlg::AesGcm16 { key_bits: 128 },
    EncrAlg::AesGcm16 { key_bits: 256 },
];
const INTEG: [IntegAlg; 4] = [
    IntegAlg::HmacSha1_96,
    IntegAlg::HmacSha256_128,
    IntegAlg::HmacSha384_192,
    IntegAlg::HmacSha512_256,
];
const PRF: [PrfAlg; 4] = [
    PrfAlg::HmacSha1,
    PrfAlg::HmacSha256,
    PrfAlg::HmacSha384,
    PrfAlg::HmacSha512,
];

/// Every phase 1 suite AWS accepts by default: a CBC proposal (with
/// integrity) and a GCM proposal (without), each with every PRF and group.
pub fn aws_ike_proposals() -> Vec<IkeProposal> {
    vec![
        IkeProposal {
            encr: CBC.to_vec(),
            prf: PRF.to_vec(),
            integ: INTEG.to_vec(),
            dh: AWS_PHASE1_GROUPS.to_vec(),
        },
        IkeProposal {
            encr: GCM.to_vec(),
            prf: PRF.to_vec(),
            integ: Vec::new(),
            dh: AWS_PHASE1_GROUPS.to_vec(),
        },
    ]
}

/// Every phase 2 suite AWS accepts by default; `pfs` groups apply at
/// CREATE_CHILD_SA (none: no PFS).
pub fn aws_esp_proposals(pfs: &[DhGroup]) -> Vec<EspProposal> {
    vec![
        EspProposal {
            encr: CBC.to_vec(),
            integ: INTEG.to_vec(),
            dh: pfs.to_vec(),
        },
        EspProposal {
            encr: GCM.to_vec(),
            integ: Vec::new(),
            dh: pfs.to_vec(),
        },
    ]
}
