//! IOS's `show running-config` layout: a command at column 0 opens a
//! sub-mode, its lines are indented under it (deeper sub-modes deeper),
//! `!` separates blocks. Read into a tree by indentation, every line with
//! its number. `exit` lines (AWS's downloads end sub-modes with them) and
//! `end` only close modes, which indentation already does; `show
//! running-config`'s header lines are not configuration.

/// One configuration line and the sub-mode lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The command, trimmed, single spaces kept as written.
    pub text: String,
    /// 1-based line number.
    pub line: usize,
    /// The sub-mode's lines.
    pub children: Vec<Line>,
    /// The last line number of the block (for reporting a skipped block).
    pub last: usize,
}

impl Line {
    /// The command as messages show it: the word after `key`,
    /// `pre-shared-key`, `password`, `secret` or `community` (and after
    /// their type digit) is `<redacted>`, so that no report or
    /// error carries a device secret.
    pub(crate) fn shown(&self) -> String {
        const SECRET_BEFORE: [&str; 6] = [
            "key",
            "pre-shared-key",
            "password",
            "secret",
            "community",
            "authentication-key",
        ];
        let mut out: Vec<&str> = Vec::new();
        let mut hide = false;
        for w in self.text.split_whitespace() {
            if hide && matches!(w, "0" | "5" | "6" | "7" | "8" | "9" | "local" | "remote") {
                out.push(w);
                continue;
            }
            out.push(if hide { "<redacted>" } else { w });
            hide = SECRET_BEFORE.contains(&w);
        }
        out.join(" ")
    }

    /// The command's words.
    pub(crate) fn words(&self) -> Vec<&str> {
        self.text.split_whitespace().collect()
    }
}

/// Parses configuration text into its top-level commands.
pub(crate) fn parse(text: &str) -> Vec<Line> {
    let mut flat: Vec<(usize, String, usize)> = Vec::new();
    let mut banner_end: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let raw = raw.trim_end_matches('\r');
        if let Some(delim) = &banner_end {
            if raw.contains(delim.as_str()) {
                banner_end = None;
            }
            continue;
        }
        let t = raw.trim();
        if t.is_empty() || t.starts_with('!') {
            continue;
        }
        if matches!(
            t,
            "exit" | "exit-address-family" | "exit-peer-policy" | "end"
        ) {
            continue;
        }
        // `show running-config`'s own header, not configuration.
        if t == "Building configuration..." || t.starts_with("Current configuration :") {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if t.starts_with("banner ") {
            // `banner motd ^C` ... `^C`: the text between is not commands.
            if let Some(d) = t.split_whitespace().nth(2) {
                let delim: String = d
                    .chars()
                    .take(if d.starts_with('^') { 2 } else { 1 })
                    .collect();
                if d.len() <= delim.len() || !d[delim.len()..].contains(delim.as_str()) {
                    banner_end = Some(delim);
                }
            }
        }
        flat.push((indent, t.to_owned(), n));
    }
    let mut i = 0;
    build(&flat, &mut i, None)
}

fn build(items: &[(usize, String, usize)], i: &mut usize, parent: Option<usize>) -> Vec<Line> {
    let mut out = Vec::new();
    while let Some((indent, text, line)) = items.get(*i) {
        if parent.is_some_and(|p| *indent <= p) {
            break;
        }
        *i += 1;
        let children = build(items, i, Some(*indent));
        let last = children.last().map_or(*line, |c: &Line| c.last);
        out.push(Line {
            text: text.clone(),
            line: *line,
            children,
            last,
        });
    }
    out
}
