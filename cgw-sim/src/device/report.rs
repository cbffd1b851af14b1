//! What a reader collects besides the tunnels: the lines it does not turn
//! into configuration, its approximations, and what the file lacks.

/// A reader's findings, moved into the [`super::DeviceConfig`] at the end.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// (line, what and why).
    pub unsupported: Vec<(usize, String)>,
    /// (line, note).
    pub notes: Vec<(usize, String)>,
    /// (key path, line of the nearest block, why).
    pub missing: Vec<(String, usize, String)>,
}
