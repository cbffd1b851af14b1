//! The control socket: a Unix stream socket that answers one JSON request
//! per line with one JSON line, from the latest [`Status`]; and its
//! client, which `cgw-sim status` uses.
//!
//! Requests and answers:
//!
//! ```text
//! {"command":"status"}   ->  the Status as JSON (see `status`)
//! {"command":"reboot"}   ->  {"error":"unknown command \"reboot\" (known: status)"}
//! not JSON               ->  {"error":"bad request: ..."}
//! ```
//!
//! A connection may send several requests. A request line longer than
//! [`MAX_REQUEST`] bytes, or silence for [`IDLE_TIMEOUT`], closes it.
//!
//! The socket file: its directory is created if missing; a socket file
//! left by a daemon that died is replaced, but one a live daemon answers
//! on is an error (two daemons must not share it) and a file that is not
//! a socket is never removed. [`SocketFile`] removes the file when
//! dropped, if it is still the one bound.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::status::Status;
use super::Snapshot;

/// The longest request line accepted, in bytes.
pub const MAX_REQUEST: usize = 4096;

/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the client waits for the daemon to answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 16;

/// The commands the socket knows.
const COMMANDS: &[&str] = &["status"];

/// Why the control socket could not be set up.
#[derive(Debug, Error)]
pub enum ControlError {
    /// The socket's directory could not be created.
    #[error("control socket {}: cannot create its directory: {source}", path.display())]
    Directory {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A daemon already answers on the path.
    #[error("control socket {}: another cgw-sim is running there", path.display())]
    InUse {
        /// The socket's path.
        path: PathBuf,
    },
    /// Something other than a socket is at the path (never removed).
    #[error("control socket {}: the path exists and is not a socket; not replacing it", path.display())]
    NotASocket {
        /// The socket's path.
        path: PathBuf,
    },
    /// Binding, replacing the stale file or setting its mode failed.
    #[error("control socket {}: {source}", path.display())]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The bound socket's file: removed when dropped, unless another process
/// has replaced it meanwhile (compared by device and inode).
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    identity: (u64, u64),
}

impl SocketFile {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the control socket");
            }
        }
    }
}

/// Binds the control socket at `path`: creates its directory, replaces a
/// stale socket file, binds, and makes it readable and writable by owner
/// and group only (mode 0660). Call inside the runtime that will serve it.
pub fn bind(path: &Path) -> Result<(UnixListener, SocketFile), ControlError> {
    let io_err = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ControlError::Directory {
            path: path.to_owned(),
            source,
        })?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => match StdUnixStream::connect(path) {
            Ok(_) => return Err(ControlError::InUse { path: path.into() }),
            // Nobody listens: a daemon died without cleaning up.
            Err(_) => match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(e)),
            },
        },
        Ok(_) => return Err(ControlError::NotASocket { path: path.into() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let listener = UnixListener::bind(path).map_err(io_err)?;
    let meta = std::fs::symlink_metadata(path).map_err(io_err)?;
    let file = SocketFile {
        path: path.to_owned(),
        identity: (meta.dev(), meta.ino()),
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io_err)?;
    Ok((listener, file))
}

/// Serves requests on `listener` from the snapshots of `status`, until
/// the task running it is dropped or aborted (which closes every
/// connection too).
pub async fn serve_control<S: Snapshot>(listener: UnixListener, status: watch::Receiver<S>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            tracing::debug!("control socket: too many connections, closing");
            continue;
        }
        let status = status.clone();
        connections.spawn(async move {
            if let Err(e) = connection(stream, status).await {
                tracing::debug!(error = %e, "control socket: connection ended with an error");
            }
        });
    }
}

/// One client: request lines until end of file, idle timeout or a line
/// too long.
async fn connection<S: Snapshot>(stream: UnixStream, status: watch::Receiver<S>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = AsyncBufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        // One byte over the limit tells a long line from a full one.
        let limited = (&mut read).take(MAX_REQUEST as u64 + 1);
        let n = match tokio::time::timeout(IDLE_TIMEOUT, read_line(limited, &mut line)).await {
            Ok(n) => n?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        let too_long = line.last() != Some(&b'\n') && n > MAX_REQUEST;
        let reply = if too_long {
            error(&format!("request longer than {MAX_REQUEST} bytes"))
        } else {
            answer(&line, &status)
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\n").await?;
        if too_long {
            return Ok(());
        }
    }
}

async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    mut r: R,
    line: &mut Vec<u8>,
) -> io::Result<usize> {
    r.read_until(b'\n', line).await
}

/// The answer to one request line (without its newline).
pub fn answer<S: Snapshot>(line: &[u8], status: &watch::Receiver<S>) -> String {
    let request: serde_json::Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => return error(&format!("bad request: {e}")),
    };
    let Some(command) = request.get("command").and_then(|c| c.as_str()) else {
        return error("bad request: expected {\"command\": \"status\"}");
    };
    match command {
        "status" => serde_json::to_string(&*status.borrow())
            .unwrap_or_else(|e| error(&format!("cannot encode the status: {e}"))),
        other => error(&format!(
            "unknown command \"{}\" (known: {})",
            other.escape_debug(),
            COMMANDS.join(", ")
        )),
    }
}

fn error(message: &str) -> String {
    json!({ "error": message }).to_string()
}

/// Why the client got no status.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing listens at the path.
    #[error("no cgw-sim at {}: is `cgw-sim run` running? (the AWS mock's socket: --socket /run/cgw-sim/mock-aws.sock)", path.display())]
    NotRunning {
        /// The socket's path.
        path: PathBuf,
    },
    /// Connecting, sending or receiving failed otherwise.
    #[error("{}: {source}", path.display())]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The daemon answered with an error.
    #[error("{}: cgw-sim answered: {message}", path.display())]
    Daemon {
        /// The socket's path.
        path: PathBuf,
        /// Its message.
        message: String,
    },
    /// The answer is not a status.
    #[error("{}: unexpected answer: {message}", path.display())]
    BadAnswer {
        /// The socket's path.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

/// Asks the daemon at `path` for its status (blocking, with
/// [`CLIENT_TIMEOUT`]; no runtime needed).
pub fn query_status(path: &Path) -> Result<Status, ClientError> {
    query(path)
}

/// Asks the daemon at `path` for its status as `T` (the snapshot type it
/// serves: [`Status`] for `run` and `mock-aws`, the SLA daemon's own).
pub fn query<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ClientError> {
    let answer = request(path, "status")?;
    serde_json::from_value(answer).map_err(|e| ClientError::BadAnswer {
        path: path.into(),
        message: e.to_string(),
    })
}

/// Sends `{"command": command}` to the daemon at `path` and returns its
/// JSON answer; an `{"error": ...}` answer is [`ClientError::Daemon`].
pub fn request(path: &Path, command: &str) -> Result<serde_json::Value, ClientError> {
    let io_err = |source| ClientError::Io {
        path: path.into(),
        source,
    };
    let mut stream = StdUnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            ClientError::NotRunning { path: path.into() }
        }
        _ => io_err(e),
    })?;
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(io_err)?;
    stream
        .set_write_timeout(Some(CLIENT_TIMEOUT))
        .map_err(io_err)?;
    let mut req = json!({ "command": command }).to_string();
    req.push('\n');
    stream.write_all(req.as_bytes()).map_err(io_err)?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(io_err)?;
    if line.is_empty() {
        return Err(ClientError::BadAnswer {
            path: path.into(),
            message: "the connection closed without an answer".into(),
        });
    }
    let value: serde_json::Value =
        serde_json::from_str(&line).map_err(|e| ClientError::BadAnswer {
            path: path.into(),
            message: e.to_string(),
        })?;
    if let Some(message) = value.get("error").and_then(|m| m.as_str()) {
        return Err(ClientError::Daemon {
            path: path.into(),
            message: message.to_owned(),
        });
    }
    Ok(value)
}
