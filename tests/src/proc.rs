//! Bounded command execution, daemons we own by PID, scratch directories.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A process-unique number (for names of namespaces, directories, ...).
pub fn unique_id() -> u32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Default bound for one external command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a finished (or timed-out) command produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub cmd: String,
    /// `None` if it was killed because it ran past its time limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Panic with the whole story unless it succeeded; returns stdout.
    #[track_caller]
    pub fn expect_ok(self) -> String {
        if !self.success() {
            panic!("{self}");
        }
        self.stdout
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => writeln!(f, "`{}` exited with {s}", self.cmd)?,
            None => writeln!(f, "`{}` timed out and was killed", self.cmd)?,
        }
        if !self.stdout.trim().is_empty() {
            writeln!(f, "--- stdout\n{}", self.stdout.trim_end())?;
        }
        if !self.stderr.trim().is_empty() {
            writeln!(f, "--- stderr\n{}", self.stderr.trim_end())?;
        }
        Ok(())
    }
}

/// Run `argv` with no stdin, capture its output, and kill it if it runs past
/// `timeout`. Panics only if the program cannot be started at all.
pub fn run(argv: &[&str], env: &[(&str, &str)], timeout: Duration) -> Output {
    let cmd_str = argv.join(" ");
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{cmd_str}`: {e}"));
    let out_reader = reader_thread(child.stdout.take());
    let err_reader = reader_thread(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                // `child` is ours and not yet reaped: its PID cannot have been reused.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for `{cmd_str}`: {e}"),
        }
    };
    Output {
        cmd: cmd_str,
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn reader_thread<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Poll `cond` every `every` until it returns `Some` or `timeout` passes.
pub fn wait_until<T>(
    timeout: Duration,
    every: Duration,
    mut cond: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// The last `n` lines of a text file (for failure messages).
pub fn tail(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(n);
            lines[start..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// A long-running process we started and own. Stopped on drop: SIGTERM, a
/// grace period, then SIGKILL, always by its own PID and only after checking
/// `/proc/PID/comm` is what we started (or the launcher that execs into it).
pub struct Daemon {
    child: Option<Child>,
    label: String,
    /// Expected `/proc/PID/comm` (first 15 bytes of the program name).
    comm: String,
    grace: Duration,
}

/// Launchers that exec() into the daemon (so the PID stays the same).
const LAUNCHERS: &[&str] = &["ip", "env", "setsid"];

impl Daemon {
    /// Start `argv` in its own session (setsid) with stdin from /dev/null and
    /// stdout+stderr appended to `log`. `comm` is the final program's name.
    pub fn spawn(
        label: &str,
        argv: &[&str],
        env: &[(&str, &str)],
        log: &Path,
        comm: &str,
        grace: Duration,
    ) -> Daemon {
        use std::os::unix::process::CommandExt;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let err = out.try_clone().expect("dup log fd");
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: setsid() is async-signal-safe and touches no memory; a new
        // session keeps terminal signals away from the daemon.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} (`{}`): {e}", argv.join(" ")));
        let comm: String = comm.chars().take(15).collect();
        Daemon {
            child: Some(child),
            label: label.to_string(),
            comm,
            grace,
        }
    }

    /// The daemon's PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Still running (not exited)?
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// `/proc/PID/comm` right now.
    pub fn current_comm(&self) -> Option<String> {
        std::fs::read_to_string(format!("/proc/{}/comm", self.pid()))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Has the launcher exec'd into the expected program yet?
    pub fn is_exec_done(&self) -> bool {
        self.current_comm().as_deref() == Some(self.comm.as_str())
    }

    /// Send `sig` (a libc signal number) to the daemon's PID if it is still
    /// ours and running. Returns whether the signal was sent.
    pub fn signal(&mut self, sig: i32) -> bool {
        if !self.is_running() {
            return false;
        }
        let comm = self.current_comm().unwrap_or_default();
        if comm != self.comm && !LAUNCHERS.contains(&comm.as_str()) {
            eprintln!(
                "harness: not signalling {} pid {}: /proc comm is {comm:?}, expected {:?}",
                self.label,
                self.pid(),
                self.comm
            );
            return false;
        }
        let pid = self.pid() as libc::pid_t;
        // SAFETY: plain syscall on a PID we spawned and have not reaped yet.
        unsafe { libc::kill(pid, sig) == 0 }
    }

    /// Stop it: SIGTERM, wait up to the grace period, then SIGKILL; reap it.
    /// Returns the exit status if it had one.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.stop_with(libc::SIGTERM)
    }

    /// Like [`Daemon::stop`] with another first signal (e.g. SIGINT for tshark).
    pub fn stop_with(&mut self, sig: i32) -> Option<ExitStatus> {
        self.child.as_ref()?;
        if self.signal(sig) {
            let deadline = Instant::now() + self.grace;
            while self.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if self.is_running() {
            eprintln!(
                "harness: {} pid {} ignored signal {sig}, sending SIGKILL",
                self.label,
                self.pid()
            );
            self.signal(libc::SIGKILL);
        }
        let mut child = self.child.take()?;
        // bounded: after SIGKILL the process exits promptly
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A scratch directory `$TMPDIR/cgwt-<pid>-<n>-<label>`. Removed on drop,
/// except when the thread is panicking (a failing test) or
/// `CGWT_KEEP=1` is set: then it is kept and its path printed.
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn new(label: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!(
            "cgwt-{}-{}-{label}",
            std::process::id(),
            unique_id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("CGWT_KEEP").is_some_and(|v| v == "1") {
            eprintln!("harness: kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_captures_and_times_out() {
        let o = run(&["sh", "-c", "echo hi; echo err >&2"], &[], DEFAULT_TIMEOUT);
        assert!(o.success());
        assert_eq!(o.stdout, "hi\n");
        assert_eq!(o.stderr, "err\n");
        let t = Instant::now();
        let o = run(&["sleep", "5"], &[], Duration::from_millis(200));
        assert!(o.status.is_none());
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn daemon_stops_by_pid() {
        let dir = TestDir::new("daemon");
        let mut d = Daemon::spawn(
            "sleeper",
            &["sleep", "30"],
            &[],
            &dir.join("out"),
            "sleep",
            Duration::from_secs(2),
        );
        assert!(
            wait_until(Duration::from_secs(2), Duration::from_millis(10), || {
                d.is_exec_done().then_some(())
            })
            .is_some()
        );
        assert!(d.is_running());
        let pid = d.pid();
        d.stop();
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || !d.is_running());
    }
}
