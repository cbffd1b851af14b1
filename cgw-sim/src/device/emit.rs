//! A [`DeviceConfig`] written as gateway configuration TOML (`[gateway]` +
//! `[cgw]`, docs/config.md), each value with a `# line N` comment, and the
//! source map from key paths to device lines.

use super::model::{DeviceConfig, DeviceTunnel, Sourced};

/// TOML text being written, and where each key came from.
struct Out {
    text: String,
    map: Vec<(String, usize)>,
    table: String,
}

impl Out {
    fn table(&mut self, name: &str) {
        self.text.push_str(&format!("\n[{name}]\n"));
        self.table = name.to_owned();
    }

    fn kv(&mut self, key: &str, value: String, line: usize) {
        self.text
            .push_str(&format!("{key} = {value}  # line {line}\n"));
        self.map.push((format!("{}.{key}", self.table), line));
    }

    fn comment(&mut self, text: &str) {
        for l in text.lines() {
            self.text.push_str(&format!("# {l}\n"));
        }
    }
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn list(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    )
}

fn groups(v: &[u16]) -> String {
    format!(
        "[{}]",
        v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    )
}

/// The TOML and its source map.
pub(crate) fn to_toml(d: &DeviceConfig) -> (String, Vec<(String, usize)>) {
    let mut o = Out {
        text: format!(
            "# cgw-sim gateway configuration read from a {} file by `cgw_sim::device`.\n\
             # `# line N` is the device line each value came from. It holds the\n\
             # pre-shared keys: keep it private.\n",
            d.format
        ),
        map: Vec::new(),
        table: String::new(),
    };
    for (key, line, why) in &d.missing {
        o.comment(&format!("MISSING {key} (device line {line}): {why}"));
    }
    for (line, note) in &d.notes {
        o.comment(&format!("note, device line {line}: {note}"));
    }
    for (line, what) in &d.unsupported {
        o.comment(&format!("not read, device line {line}: {what}"));
    }

    o.table("gateway");
    if let Some(a) = &d.local_address {
        o.kv("local_address", q(&a.value.to_string()), a.line);
    }
    if let Some(b) = d.bgp.as_ref().and_then(|b| b.asn.as_ref()) {
        o.kv("routing", q("bgp"), b.line);
    } else if let Some(r) = d.static_routes.first() {
        o.kv("routing", q("static"), r.line);
    }
    for (i, t) in d.tunnels.iter().enumerate() {
        o.table(&format!("gateway.tunnel{}", i + 1));
        o.comment(&format!("device tunnel `{}` (line {})", t.name, t.line));
        o.kv(
            "aws_address",
            q(&t.aws_address.value.to_string()),
            t.aws_address.line,
        );
        if let Some(c) = &t.inside_cidr {
            o.kv(
                "inside_cidr",
                q(&format!("{}/{}", c.value.0, c.value.1)),
                c.line,
            );
        }
    }

    o.table("cgw");
    if d.bgp.is_none() && !d.static_routes.is_empty() {
        let v: Vec<String> = d.static_routes.iter().map(|r| r.value.clone()).collect();
        o.kv("static_routes", list(&v), d.static_routes[0].line);
    }
    if let Some(b) = &d.bgp {
        o.table("cgw.bgp");
        if let Some(a) = &b.asn {
            o.kv("asn", a.value.to_string(), a.line);
        }
        if let Some(a) = &b.peer_asn {
            o.kv("peer_asn", a.value.to_string(), a.line);
        }
        if let Some(first) = b.announce.first() {
            let v: Vec<String> = b.announce.iter().map(|r| r.value.clone()).collect();
            o.kv("announce", list(&v), first.line);
        }
        if let Some(h) = &b.hold_time {
            o.kv("hold_time", q(&format!("{}s", h.value)), h.line);
        }
    }
    for (i, t) in d.tunnels.iter().enumerate() {
        tunnel(&mut o, i + 1, t, d.local_address.as_ref());
    }
    (o.text, o.map)
}

fn tunnel(o: &mut Out, n: usize, t: &DeviceTunnel, gateway: Option<&Sourced<std::net::Ipv4Addr>>) {
    o.table(&format!("cgw.tunnel{n}"));
    o.kv("enabled", t.enabled.value.to_string(), t.enabled.line);
    if let Some(c) = &t.clear_df {
        o.kv("clear_df", c.value.to_string(), c.line);
    }
    if let Some(m) = &t.mss_clamp {
        o.kv("mss_clamp", m.value.to_string(), m.line);
    }
    if let Some(m) = &t.mtu {
        o.comment(&format!(
            "the device's tunnel MTU is {} (line {}): cgw-sim sets AWS's MTU for the negotiated suite",
            m.value, m.line
        ));
    }
    if let Some(w) = &t.replay_window {
        o.comment(&format!(
            "the device's replay window is {} packets (line {}): no [cgw] key (AWS's is aws.tunnelN.replay_window_packets)",
            w.value, w.line
        ));
    }

    o.table(&format!("cgw.tunnel{n}.ike"));
    o.kv("version", t.version.value.to_string(), t.version.line);
    let lists = [
        ("encryption", &t.encryption),
        ("integrity", &t.integrity),
        ("phase2_encryption", &t.phase2_encryption),
        ("phase2_integrity", &t.phase2_integrity),
    ];
    for (key, v) in lists {
        if v.value.is_empty() && key.ends_with("encryption") {
            // Listed as missing at the top.
        } else if v.value.is_empty() {
            o.comment(&format!(
                "{key}: none on the device (line {}); cgw-sim's default stays, unused with AES-GCM only",
                v.line
            ));
        } else {
            o.kv(key, list(&v.value), v.line);
        }
    }
    if !t.dh_groups.value.is_empty() {
        o.kv("dh_groups", groups(&t.dh_groups.value), t.dh_groups.line);
    }
    o.kv(
        "phase2_dh_groups",
        groups(&t.phase2_dh_groups.value),
        t.phase2_dh_groups.line,
    );
    if let Some(p) = &t.psk {
        o.kv("psk", q(p.value.expose()), p.line);
    }
    o.kv(
        "phase1_lifetime",
        q(&format!("{}s", t.phase1_lifetime.value)),
        t.phase1_lifetime.line,
    );
    o.kv(
        "phase2_lifetime",
        q(&format!("{}s", t.phase2_lifetime.value)),
        t.phase2_lifetime.line,
    );
    if let Some(m) = &t.rekey_margin {
        o.kv("rekey_margin", q(&format!("{}s", m.value)), m.line);
    }
    if let Some(f) = &t.rekey_fuzz {
        o.kv("rekey_fuzz", f.value.to_string(), f.line);
    }
    if let Some(d) = &t.dpd {
        o.kv(
            "dpd",
            format!(
                "{{ interval = \"{}s\", timeout = \"{}s\", action = {} }}",
                d.value.interval,
                d.value.timeout,
                q(&d.value.action)
            ),
            d.line,
        );
    }
    o.kv("role", q(&t.role.value), t.role.line);
    if let Some(a) = &t.local_address {
        if gateway.is_some_and(|g| g.value != a.value) {
            o.kv("source_address", q(&a.value.to_string()), a.line);
        }
    }
    if let Some(s) = &t.local_selectors {
        o.kv("local_selectors", list(&s.value), s.line);
    }
    if let Some(s) = &t.remote_selectors {
        o.kv("remote_selectors", list(&s.value), s.line);
    }
}
