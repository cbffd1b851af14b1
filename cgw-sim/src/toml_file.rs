//! Reading a TOML file with errors placed at the key they name: shared by
//! scenario files and the host configuration (`cgw-sim run`, `validate`,
//! `mock-aws`). The text is parsed twice: once into a span index (every key
//! and array element with its place), once through serde into the caller's
//! raw structs; a serde error or a semantic check's `(key, message)` is then
//! placed at that key's line and column.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

/// A semantic check's result: the error is `(dotted key path, message)`.
pub(crate) type Check<T> = Result<T, (String, String)>;

/// A failed [`Check`] at `key`.
pub(crate) fn err<T>(key: impl Into<String>, message: impl Into<String>) -> Check<T> {
    Err((key.into(), message.into()))
}

/// A TOML file (scenario or config) that could not be loaded. Displays as
/// `file:line:column: key.path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file, as given to the loader.
    pub file: String,
    /// 1-based line, if the error has a place in the file.
    pub line: Option<usize>,
    /// 1-based column (in characters), with `line`.
    pub column: Option<usize>,
    /// Dotted key path (`cgw.tunnel1.ike.dh_groups`, `fault[2].at`; array
    /// indexes are 1-based), empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FileError {}

/// Reads `path` and parses it with [`parse`].
pub(crate) fn load<R: DeserializeOwned, T>(
    path: &Path,
    convert: impl FnOnce(R) -> Check<T>,
) -> Result<T, FileError> {
    let (text, name) = read(path)?;
    parse(&text, &name, convert)
}

/// Reads `path`: its text and its name as errors give it.
pub(crate) fn read(path: &Path) -> Result<(String, String), FileError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text, name)),
        Err(e) => Err(FileError {
            file: name,
            line: None,
            column: None,
            key: String::new(),
            message: format!("cannot read: {e}"),
        }),
    }
}

/// Parses `text` into the raw form `R` (serde) and converts it with
/// `convert`; every error names `file`, the line and column, and the key.
pub(crate) fn parse<R: DeserializeOwned, T>(
    text: &str,
    file: &str,
    convert: impl FnOnce(R) -> Check<T>,
) -> Result<T, FileError> {
    let index = match DeTable::parse(text) {
        Ok(table) => {
            let mut index = Index::default();
            index.walk_table(table.get_ref(), "");
            index
        }
        Err(e) => {
            return Err(place(
                text,
                file,
                e.span(),
                String::new(),
                e.message().to_owned(),
            ));
        }
    };
    let raw: R = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let key = e
                .span()
                .and_then(|s| index.path_at(s.start))
                .unwrap_or_default();
            let span = index.key_span(&key).or(e.span());
            return Err(place(text, file, span, key, translate(e.message())));
        }
    };
    convert(raw).map_err(|(key, message)| {
        let span = index.key_span(&key);
        place(text, file, span, key, message)
    })
}

fn place(
    text: &str,
    file: &str,
    span: Option<Range<usize>>,
    key: String,
    message: String,
) -> FileError {
    let (line, column) = match span {
        Some(s) => {
            let start = s.start.min(text.len());
            let before = text.get(..start).unwrap_or(text);
            let line = line_at(text, start);
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    FileError {
        file: file.to_owned(),
        line,
        column,
        key,
        message,
    }
}

/// The 1-based line of byte offset `pos` in `text`.
fn line_at(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.get(..pos).unwrap_or(text).matches('\n').count() + 1
}

/// Rewrites serde's "invalid type: X, expected Y" as "expected Y, found X".
fn translate(message: &str) -> String {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!("unknown key {rest}");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    else {
        return message.to_owned();
    };
    let Some((found, expected)) = rest.split_once(", expected ") else {
        return message.to_owned();
    };
    let kind = |s: &str| -> String {
        let word = s.split([' ', '`']).next().unwrap_or(s);
        match word {
            "string" => "a string".into(),
            "integer" => "an integer".into(),
            "floating" => "a float".into(),
            "boolean" => "a boolean".into(),
            "sequence" => "a list".into(),
            "map" => "a table".into(),
            "struct" => "a table".into(),
            "u8" => "an integer from 0 to 255".into(),
            "u16" => "an integer from 0 to 65535".into(),
            "u32" => "an integer from 0 to 4294967295".into(),
            "u64" => "a non-negative integer".into(),
            "a" | "an" => s
                .replace("a sequence", "a list")
                .replace("a map", "a table"),
            _ => s.to_owned(),
        }
    };
    let found = match found.strip_prefix("integer `") {
        Some(n) if message.starts_with("invalid value") => n.trim_end_matches('`').to_owned(),
        _ => kind(found),
    };
    format!("expected {}, found {found}", kind(expected))
}

#[derive(Default)]
struct Index {
    /// (path, key span, value span) of every key and array element.
    entries: Vec<(String, Option<Range<usize>>, Range<usize>)>,
}

impl Index {
    fn walk_table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            self.entries.push((path.clone(), Some(k.span()), v.span()));
            self.walk_value(v.get_ref(), &path);
        }
    }

    fn walk_value(&mut self, value: &DeValue<'_>, path: &str) {
        match value {
            DeValue::Table(t) => self.walk_table(t, path),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    let p = format!("{path}[{}]", i + 1);
                    self.entries.push((p.clone(), None, item.span()));
                    self.walk_value(item.get_ref(), &p);
                }
            }
            _ => {}
        }
    }

    /// The most specific key whose key or value contains `pos`.
    fn path_at(&self, pos: usize) -> Option<String> {
        self.entries
            .iter()
            .filter_map(|(p, k, v)| {
                let hit = |r: &Range<usize>| r.start <= pos && pos < r.end.max(r.start + 1);
                if k.as_ref().is_some_and(hit) {
                    Some((0, p))
                } else if hit(v) {
                    Some((v.end - v.start, p))
                } else {
                    None
                }
            })
            .min_by_key(|(size, p)| (*size, usize::MAX - p.len()))
            .map(|(_, p)| p.clone())
    }

    /// Where the key (or array element) at `path` starts, or for a path
    /// that is not in the file (a missing key), its nearest parent.
    fn key_span(&self, path: &str) -> Option<Range<usize>> {
        let mut path = path;
        loop {
            if let Some((_, k, v)) = self.entries.iter().find(|(p, _, _)| p == path) {
                return Some(k.clone().unwrap_or_else(|| v.clone()));
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// Every key (and array element) of a TOML text with its 1-based line: where
/// a finding about an already loaded value is reported (`cgw-sim lint`).
/// Paths are spelled as in [`FileError::key`] (`cgw.tunnel1.ike.dh_groups`,
/// `cgw.tunnel1.ike.dh_groups[2]`).
#[derive(Debug, Clone, Default)]
pub struct KeyLines {
    lines: Vec<(String, usize)>,
}

impl KeyLines {
    /// Indexes `text`; `None` if it is not TOML.
    pub fn parse(text: &str) -> Option<KeyLines> {
        let table = DeTable::parse(text).ok()?;
        let mut index = Index::default();
        index.walk_table(table.get_ref(), "");
        let lines = index
            .entries
            .into_iter()
            .map(|(path, key, value)| (path, line_at(text, key.unwrap_or(value).start)))
            .collect();
        Some(KeyLines { lines })
    }

    /// The line of exactly `path`, if the file has that key.
    pub fn line(&self, path: &str) -> Option<usize> {
        self.lines
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, line)| *line)
    }
}
