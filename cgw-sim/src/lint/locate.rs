//! Where a key is in the file a configuration came from.

use crate::toml_file::KeyLines;

/// Maps a key path (`cgw.tunnel1.ike.dh_groups`, `...dh_groups[2]`) to its
/// line in the file the configuration was read from. Kept small so that
/// any source can implement it: a TOML file ([`TomlLocate`]), or a device's
/// own file through its importer's source map.
pub trait Locate {
    /// The file findings name.
    fn file(&self) -> &str;
    /// The 1-based line where exactly `key` is set, if the file sets it.
    fn line(&self, key: &str) -> Option<usize>;
}

/// The line of `key`, or for a key the file does not set (a default), of
/// its nearest parent that it does.
pub(crate) fn line_or_parent(at: &dyn Locate, key: &str) -> Option<usize> {
    let mut key = key;
    loop {
        if let Some(line) = at.line(key) {
            return Some(line);
        }
        let cut = key.rfind(['.', '['])?;
        key = &key[..cut];
    }
}

/// [`Locate`] for a TOML configuration file, from `toml_file`'s index of
/// every key's span.
#[derive(Debug, Clone)]
pub struct TomlLocate {
    file: String,
    lines: KeyLines,
}

impl TomlLocate {
    /// Indexes `text`, read from `file`. Text that is not TOML locates
    /// nothing (every finding is then at the file, without a line).
    pub fn new(file: &str, text: &str) -> TomlLocate {
        TomlLocate {
            file: file.to_owned(),
            lines: KeyLines::parse(text).unwrap_or_default(),
        }
    }
}

impl Locate for TomlLocate {
    fn file(&self) -> &str {
        &self.file
    }

    fn line(&self, key: &str) -> Option<usize> {
        self.lines.line(key)
    }
}
