//! Voice quality from delay and loss, as IP SLA's udp-jitter estimates it
//! for its codecs: the E-model of ITU-T G.107 reduced to what a probe can
//! measure (the rating factor R from the delay impairment Id and the
//! effective equipment impairment Ie-eff, everything else at G.107's
//! defaults), MOS from R (G.107 Annex B), and ICPIF, the calculated
//! planning impairment factor of G.113 (the same impairments, `Id +
//! Ie-eff - A`).
//!
//! - `Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)`: the usual
//!   simplification of G.107's delay impairment for one-way delay `d` ms
//!   (Cole and Rosenbluth), echo-free.
//! - `Ie-eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl)` (G.107 7-29 with random
//!   loss, BurstR = 1), `Ie` and `Bpl` per codec from G.113 Appendix I.
//! - `R = 93.2 - Id - Ie-eff + A`, `A` the advantage factor (0 for wired).
//! - `MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6` for 0 < R < 100.
//!
//! The delay `d` is the one-way network delay plus the codec's algorithmic
//! delay plus a jitter buffer of twice the mean jitter.

use serde::Serialize;

/// A voice codec IP SLA offers for udp-jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub enum Codec {
    /// G.711 mu-law, 64 kbit/s (`g711ulaw`, as IP SLA names it).
    #[serde(rename = "g711ulaw")]
    G711Ulaw,
    /// G.711 A-law, 64 kbit/s (`g711alaw`).
    #[serde(rename = "g711alaw")]
    G711Alaw,
    /// G.729 Annex A, 8 kbit/s (`g729a`).
    #[serde(rename = "g729a")]
    G729A,
}

impl Codec {
    /// G.113 Appendix I's equipment impairment factor `Ie`.
    pub fn ie(self) -> f64 {
        match self {
            Codec::G711Ulaw | Codec::G711Alaw => 0.0,
            Codec::G729A => 11.0,
        }
    }

    /// G.113 Appendix I's packet-loss robustness factor `Bpl` (G.711 with
    /// packet loss concealment).
    pub fn bpl(self) -> f64 {
        match self {
            Codec::G711Ulaw | Codec::G711Alaw => 25.1,
            Codec::G729A => 19.0,
        }
    }

    /// The codec's algorithmic delay, ms (G.729: a 10 ms frame and 5 ms
    /// look-ahead; G.711: one sample).
    pub fn algorithmic_delay_ms(self) -> f64 {
        match self {
            Codec::G711Ulaw | Codec::G711Alaw => 0.125,
            Codec::G729A => 15.0,
        }
    }

    /// IP SLA's default payload per packet for the codec, bytes (20 ms of
    /// speech).
    pub fn payload_bytes(self) -> usize {
        match self {
            Codec::G711Ulaw | Codec::G711Alaw => 160,
            Codec::G729A => 20,
        }
    }
}

/// A voice quality estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VoiceScore {
    /// The rating factor R, 0 to 100.
    pub r: f64,
    /// Mean opinion score, 1 to 4.5.
    pub mos: f64,
    /// ICPIF (G.113), rounded; lower is better (5 very good, 20 adequate
    /// by G.113's guide).
    pub icpif: u32,
}

/// G.107's delay impairment for one-way delay `d_ms`.
pub fn delay_impairment(d_ms: f64) -> f64 {
    let d = d_ms.max(0.0);
    0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 }
}

/// G.107's effective equipment impairment at `loss_percent` random loss.
pub fn effective_ie(codec: Codec, loss_percent: f64) -> f64 {
    let (ie, ppl) = (codec.ie(), loss_percent.clamp(0.0, 100.0));
    ie + (95.0 - ie) * ppl / (ppl + codec.bpl())
}

/// MOS from R (G.107 Annex B).
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

/// The score of `codec` over a path with `one_way_ms` network delay,
/// `jitter_ms` mean jitter and `loss_percent` loss, with advantage factor
/// `advantage`.
pub fn score(
    codec: Codec,
    one_way_ms: f64,
    jitter_ms: f64,
    loss_percent: f64,
    advantage: f64,
) -> VoiceScore {
    let d = one_way_ms + codec.algorithmic_delay_ms() + 2.0 * jitter_ms.max(0.0);
    let id = delay_impairment(d);
    let ie = effective_ie(codec, loss_percent);
    let r = (93.2 - id - ie + advantage).clamp(0.0, 100.0);
    VoiceScore {
        r,
        mos: mos_from_r(r),
        icpif: (id + ie - advantage).max(0.0).round() as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impairments_by_hand() {
        assert!((delay_impairment(50.0) - 1.2).abs() < 1e-12);
        // 0.024 * 200 + 0.11 * 22.7
        assert!((delay_impairment(200.0) - 7.297).abs() < 1e-9);
        assert_eq!(effective_ie(Codec::G711Ulaw, 0.0), 0.0);
        // 11 + 84 * 2 / 21
        assert!((effective_ie(Codec::G729A, 2.0) - 19.0).abs() < 1e-12);
        assert!((mos_from_r(92.0) - 4.384_864).abs() < 1e-9);
        assert_eq!(mos_from_r(-3.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
    }

    #[test]
    fn g729_at_200ms_and_2_percent_by_hand() {
        // d = 200 - 15 (codec) so that network + codec = 200 ms.
        let s = score(Codec::G729A, 185.0, 0.0, 2.0, 0.0);
        // R = 93.2 - 7.297 - 19 = 66.903; MOS = 3.44860...; ICPIF 26.297.
        assert!((s.r - 66.903).abs() < 1e-9, "{s:?}");
        assert!((s.mos - 3.448_601_639).abs() < 1e-6, "{s:?}");
        assert_eq!(s.icpif, 26);
    }

    #[test]
    fn g711_on_a_clean_lan_is_near_the_top() {
        let s = score(Codec::G711Alaw, 0.2, 0.05, 0.0, 0.0);
        assert!(s.mos > 4.39 && s.mos <= 4.5, "{s:?}");
        assert_eq!(s.icpif, 0);
        // Loss and jitter each lower it.
        assert!(score(Codec::G711Alaw, 0.2, 0.05, 5.0, 0.0).mos < s.mos);
        assert!(score(Codec::G711Alaw, 0.2, 100.0, 0.0, 0.0).mos < s.mos);
    }
}
