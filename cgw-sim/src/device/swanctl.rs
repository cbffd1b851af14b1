//! strongSwan's settings syntax as `swanctl.conf` uses it: nested
//! `name { ... }` sections and `key = value` lines, `#` comments. Read into
//! a tree with every node's line. `include` and section references
//! (`name : template {`) are refused with their line: the file must be
//! whole to be read honestly.

use super::ReadError;

/// One node of the settings tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// `name { ... }`.
    Section {
        /// The section's name.
        name: String,
        /// Its line.
        line: usize,
        /// What it holds, in order.
        children: Vec<Node>,
    },
    /// `key = value` (the value unquoted, trimmed).
    Value {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Its line.
        line: usize,
    },
}

impl Node {
    /// The node's line.
    pub(crate) fn line(&self) -> usize {
        match self {
            Node::Section { line, .. } | Node::Value { line, .. } => *line,
        }
    }
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl Lexer<'_> {
    fn skip_space(&mut self, newlines: bool) {
        while let Some(&c) = self.chars.peek() {
            match c {
                '\n' if newlines => {
                    self.line += 1;
                    self.chars.next();
                }
                '#' => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.chars.next();
                    }
                }
                c if c.is_whitespace() && c != '\n' => {
                    self.chars.next();
                }
                _ => break,
            }
        }
    }

    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(&c) = self.chars.peek() {
            if c.is_whitespace() || matches!(c, '{' | '}' | '=' | '#' | ':') {
                break;
            }
            w.push(c);
            self.chars.next();
        }
        w
    }

    /// The rest of a `key = value` line: quotes removed (a quoted value may
    /// hold `#` and span lines), a comment dropped.
    fn value(&mut self) -> Result<String, ReadError> {
        let start = self.line;
        let mut v = String::new();
        self.skip_space(false);
        while let Some(&c) = self.chars.peek() {
            match c {
                '\n' | '#' => break,
                '"' => {
                    self.chars.next();
                    loop {
                        match self.chars.next() {
                            None => return Err((start, "a quoted value is never closed".into())),
                            Some('"') => break,
                            Some('\\') => {
                                if let Some(e) = self.chars.next() {
                                    v.push(match e {
                                        'n' => '\n',
                                        't' => '\t',
                                        other => other,
                                    });
                                }
                            }
                            Some('\n') => {
                                self.line += 1;
                                v.push('\n');
                            }
                            Some(other) => v.push(other),
                        }
                    }
                }
                c => {
                    v.push(c);
                    self.chars.next();
                }
            }
        }
        Ok(v.trim().to_owned())
    }
}

/// Parses swanctl.conf text into its top-level nodes.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, ReadError> {
    let mut lx = Lexer {
        chars: text.chars().peekable(),
        line: 1,
    };
    // (name, line, children) of the open sections; the root is index 0.
    let mut stack: Vec<(String, usize, Vec<Node>)> = vec![(String::new(), 0, Vec::new())];
    loop {
        lx.skip_space(true);
        let line = lx.line;
        match lx.chars.peek().copied() {
            None => break,
            Some('}') => {
                lx.chars.next();
                if stack.len() == 1 {
                    return Err((line, "`}` closes no section".into()));
                }
                let (name, l, children) = stack.pop().unwrap_or_default();
                if let Some(top) = stack.last_mut() {
                    top.2.push(Node::Section {
                        name,
                        line: l,
                        children,
                    });
                }
            }
            Some('{') => return Err((line, "`{` without a section name".into())),
            Some('=') => return Err((line, "`=` without a key".into())),
            Some(':') => return Err((line, "`:` without a section name".into())),
            Some(_) => {
                let word = lx.word();
                lx.skip_space(false);
                match lx.chars.peek().copied() {
                    Some('=') => {
                        lx.chars.next();
                        let value = lx.value()?;
                        if let Some(top) = stack.last_mut() {
                            top.2.push(Node::Value {
                                key: word,
                                value,
                                line,
                            });
                        }
                    }
                    _ if word == "include" => {
                        return Err((
                            line,
                            "`include` is not read: give the whole configuration in one file \
                             (e.g. `swanctl --print` output or the files concatenated)"
                                .into(),
                        ))
                    }
                    Some(':') => {
                        return Err((
                            line,
                            format!("section `{word}` refers to a template (`{word} : ...`); section references are not read"),
                        ))
                    }
                    _ => {
                        lx.skip_space(true);
                        if lx.chars.peek() != Some(&'{') {
                            return Err((
                                line,
                                format!("`{word}` is neither `{word} = value` nor a section `{word} {{`"),
                            ));
                        }
                        lx.chars.next();
                        stack.push((word, line, Vec::new()));
                    }
                }
            }
        }
    }
    if stack.len() > 1 {
        let (name, l, _) = &stack[stack.len() - 1];
        return Err((
            *l,
            format!("section `{name}` is never closed (a `}}` is missing)"),
        ));
    }
    Ok(stack.pop().map(|s| s.2).unwrap_or_default())
}
