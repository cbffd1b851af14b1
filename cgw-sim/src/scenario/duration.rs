//! Durations as scenario files write them: `"500ms"`, `"30s"`, `"2m"`,
//! `"1h30m"`, `"48h"`, or a bare integer number of seconds.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration: one or more `<integer><unit>` groups with units `h`,
/// `m`, `s`, `ms`, in that order, each at most once (`"1h30m"`,
/// `"2m500ms"`), or `"0"`. Negative, fractional and empty durations are
/// refused.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let bad = |why: &str| DurationError(format!("invalid duration \"{text}\": {why}"));
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s.starts_with('-') {
        return Err(bad("durations cannot be negative"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut total: u64 = 0;
    let mut rest = s;
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("expected a number followed by h, m, s or ms"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() {
                if rest.starts_with('.') {
                    bad("fractions are not allowed; use a smaller unit (\"1500ms\")")
                } else {
                    bad("missing unit (h, m, s or ms)")
                }
            } else {
                bad(&format!("unknown unit \"{unit}\" (use h, m, s or ms)"))
            });
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(bad("units must appear once each, largest first"));
        }
        last_unit = Some(index);
        total = number
            .checked_mul(UNITS[index].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| bad("too large"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration the way [`parse_duration`] reads it (`"1h30m"`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"30s\", \"2m\" or \"1h30m\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v).map(Duration::from_secs).map_err(|_| {
            E::custom(format!(
                "invalid duration {v}: durations cannot be negative"
            ))
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(v))
    }
}

/// `deserialize_with` for a required [`Duration`].
pub(crate) fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

/// Reads `"off"` as `None`, anything else as a duration.
struct DurationOrOffVisitor;

impl Visitor<'_> for DurationOrOffVisitor {
    type Value = Option<Duration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"1s\" or \"5s\", or \"off\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Duration>, E> {
        if v.trim() == "off" {
            return Ok(None);
        }
        DurationVisitor.visit_str(v).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Duration>, E> {
        DurationVisitor.visit_i64(v).map(Some)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Duration>, E> {
        Ok(Some(Duration::from_secs(v)))
    }
}

/// `deserialize_with` for a duration that may be `"off"` (`None`).
pub(crate) fn de_or_off<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_any(DurationOrOffVisitor)
}

/// `deserialize_with` for an optional [`Duration`] (with `#[serde(default)]`).
pub(crate) fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_any(DurationVisitor).map(Some)
}
