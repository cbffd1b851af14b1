//! The status as a text table for people (`cgw-sim status`): tunnels,
//! SAs, BGP sessions, routes and counters, one section each, like
//! `swanctl --list-sas` and `birdc show protocols` put together.

use std::fmt::{self, Write};
use std::time::Duration;

use super::status::Status;
use crate::scenario::format_duration;

impl Status {
    /// The snapshot as a readable text table (what `cgw-sim status`
    /// prints). Text from the daemon (failures, errors, suites) has its
    /// control characters replaced, so a table never carries terminal
    /// escapes or breaks a row.
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_table(&mut out);
        out
    }

    fn write_table(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "{} \"{}\" at {}, up {}",
            self.role,
            clean(&self.name),
            self.outside_address,
            age(self.uptime)
        )?;

        section(
            out,
            "Tunnels",
            &[
                "TUNNEL",
                "DEVICE",
                "PEER",
                "INSIDE",
                "STATE",
                "MTU",
                "ESTABLISHED",
                "LAST FAILURE",
            ],
            self.tunnels
                .iter()
                .map(|t| {
                    vec![
                        t.index.to_string(),
                        clean(&t.tun),
                        t.peer.to_string(),
                        format!("{} -> {}", t.inside_local, t.inside_remote),
                        t.state.to_string(),
                        t.mtu.map_or_else(dash, |m| m.to_string()),
                        t.totals.established.to_string(),
                        t.last_failure.as_deref().map_or_else(dash, clean),
                    ]
                })
                .collect(),
        )?;

        section(
            out,
            "IKE SAs",
            &["TUNNEL", "SPI_I", "SPI_R", "ROLE", "SUITE", "AGE", "REKEYS"],
            self.tunnels
                .iter()
                .filter_map(|t| t.ike_sa.as_ref().map(|sa| (t.index, sa)))
                .map(|(index, sa)| {
                    vec![
                        index.to_string(),
                        format!("{:016x}", sa.spi_i),
                        format!("{:016x}", sa.spi_r),
                        if sa.local_initiator {
                            "initiator"
                        } else {
                            "responder"
                        }
                        .to_owned(),
                        clean(&sa.suite),
                        age(sa.age),
                        sa.rekeys.to_string(),
                    ]
                })
                .collect(),
        )?;

        section(
            out,
            "Child SAs",
            &[
                "TUNNEL",
                "SPI_IN",
                "SPI_OUT",
                "SUITE",
                "PKTS IN",
                "PKTS OUT",
                "BYTES IN",
                "BYTES OUT",
            ],
            self.tunnels
                .iter()
                .flat_map(|t| t.child_sas.iter().map(move |sa| (t.index, sa)))
                .map(|(index, sa)| {
                    vec![
                        index.to_string(),
                        format!("{:08x}", sa.spi_in),
                        format!("{:08x}", sa.spi_out),
                        clean(&sa.suite),
                        sa.packets_in.to_string(),
                        sa.packets_out.to_string(),
                        sa.bytes_in.to_string(),
                        sa.bytes_out.to_string(),
                    ]
                })
                .collect(),
        )?;

        section(
            out,
            "BGP sessions",
            &[
                "TUNNEL",
                "PEER",
                "AS",
                "STATE",
                "UPTIME",
                "RECEIVED",
                "ADVERTISED",
                "LAST ERROR",
            ],
            self.bgp
                .iter()
                .map(|b| {
                    vec![
                        b.tunnel.to_string(),
                        b.peer.to_string(),
                        b.peer_as.to_string(),
                        b.state.to_string(),
                        b.uptime.map_or_else(dash, age),
                        b.prefixes_received.to_string(),
                        b.prefixes_advertised.to_string(),
                        b.last_error.as_deref().map_or_else(dash, clean),
                    ]
                })
                .collect(),
        )?;

        section(
            out,
            "Routes",
            &["PREFIX", "TUNNEL", "SOURCE"],
            self.routes
                .iter()
                .map(|r| {
                    vec![
                        r.prefix.to_string(),
                        r.tunnel.to_string(),
                        r.source.to_string(),
                    ]
                })
                .collect(),
        )?;

        section(
            out,
            "Counters",
            &["NAME", "VALUE"],
            self.counters
                .iter()
                .map(|(name, value)| vec![clean(name), value.to_string()])
                .collect(),
        )?;

        if let Some(k) = &self.keepalive {
            k.write_operations(out, "Keepalive (sliding window)")?;
        }
        Ok(())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table())
    }
}

pub(crate) fn dash() -> String {
    "-".to_owned()
}

/// A duration to the second (`1h2m3s`): milliseconds are noise here.
fn age(d: Duration) -> String {
    format_duration(Duration::from_secs(d.as_secs()))
}

/// Text from the daemon with control characters (newlines, escapes)
/// replaced by spaces.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A titled section: a blank line, the title, then the rows under the
/// headers in left-aligned columns two spaces apart, or `  none`.
pub(crate) fn section(
    out: &mut String,
    title: &str,
    headers: &[&str],
    rows: Vec<Vec<String>>,
) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "{title}")?;
    if rows.is_empty() {
        return writeln!(out, "  none");
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&headers).chain(&rows) {
        let mut line = String::from(" ");
        for (cell, w) in row.iter().zip(&widths) {
            write!(line, " {cell:<w$} ")?;
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
