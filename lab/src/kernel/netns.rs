//! Named network namespaces, created and entered with `unshare`/`setns`.
//!
//! Creation does what `ip netns add` does, without the binary: an empty file
//! under `/run/netns/`, and a thread that unshares its network namespace and
//! bind-mounts `/proc/thread-self/ns/net` onto that file, which keeps the
//! namespace alive after the thread ends and makes it visible to `ip netns`.

use super::{KernelError, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Name prefix of every namespace this module creates (`cgwk-<pid>-<n>`).
pub const PREFIX: &str = "cgwk";

/// Where named namespaces live (the `ip netns` convention).
pub const NETNS_DIR: &str = "/run/netns";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A named network namespace, deleted when dropped (also during a panic).
///
/// Sockets and TUN devices opened inside it (through [`Netns::run`]) stay in
/// it; deleting the namespace removes its interfaces and routes with it.
#[derive(Debug)]
pub struct Netns {
    name: String,
    path: PathBuf,
    /// `Some` for [`Netns::here`]: the namespace we were started in, held
    /// open (it has no file of ours under [`NETNS_DIR`]).
    here: Option<File>,
}

impl Netns {
    /// Create `cgwk-<pid>-<n>` with `lo` up, IPv6 off (an IPv4 lab: no
    /// router solicitations on TUNs) and reverse-path filtering off.
    pub fn new() -> Result<Netns> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Netns::create(format!("{PREFIX}-{}-{n}", std::process::id()))
    }

    pub(crate) fn create(name: String) -> Result<Netns> {
        std::fs::create_dir_all(NETNS_DIR)
            .map_err(|e| KernelError::io(format!("creating {NETNS_DIR}"), e))?;
        let path = Path::new(NETNS_DIR).join(&name);
        File::create_new(&path)
            .map_err(|e| KernelError::io(format!("creating {}", path.display()), e))?;
        // From here on Drop removes whatever exists.
        let ns = Netns {
            name,
            path,
            here: None,
        };
        let target = ns.path.clone();
        std::thread::scope(|s| {
            s.spawn(move || -> Result<()> {
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| KernelError::io("unshare(CLONE_NEWNET)", e.into()))?;
                mount(
                    Some("/proc/thread-self/ns/net"),
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| {
                    KernelError::io(format!("bind-mounting {}", target.display()), e.into())
                })
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        ns.write_sysctls(
            &[
                ("net/ipv6/conf/all/disable_ipv6", "1"),
                ("net/ipv6/conf/default/disable_ipv6", "1"),
                ("net/ipv4/conf/all/rp_filter", "0"),
                ("net/ipv4/conf/default/rp_filter", "0"),
            ],
            // A kernel without IPv6 has no such file: nothing to turn off.
            true,
        )?;
        ns.link_up("lo")?;
        Ok(ns)
    }

    /// Writes `/proc/sys/KEY = VALUE` for each pair inside the namespace;
    /// with `missing_ok` a key the kernel does not have is passed over.
    pub(crate) fn write_sysctls(&self, pairs: &[(&str, &str)], missing_ok: bool) -> Result<()> {
        self.run(|| {
            for (key, value) in pairs {
                let path = format!("/proc/sys/{key}");
                match std::fs::write(&path, value) {
                    Ok(()) => {}
                    Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(KernelError::io(format!("writing {path}"), e)),
                }
            }
            Ok(())
        })?
    }

    /// The calling thread's own network namespace, as a handle the same
    /// operations work on: what `cgw-sim run` and `mock-aws` configure on a
    /// real host (or inside a namespace the kernel lab started them in).
    /// Unlike a namespace from [`Netns::new`], it is never deleted, and it
    /// is not held to the lab address plan: a real gateway installs the
    /// routes its configuration and BGP give it (a VPC's 10.0.0.0/16).
    pub fn here() -> Result<Netns> {
        let file = File::open("/proc/thread-self/ns/net")
            .map_err(|e| KernelError::io("opening /proc/thread-self/ns/net", e))?;
        Ok(Netns {
            name: "(this namespace)".to_string(),
            path: PathBuf::from("/proc/thread-self/ns/net"),
            here: Some(file),
        })
    }

    /// Whether addresses and routes are checked against the lab plan
    /// (every namespace from [`Netns::new`]; not [`Netns::here`]).
    pub fn guarded(&self) -> bool {
        self.here.is_none()
    }

    /// The namespace's name, as `ip netns list` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's file under [`NETNS_DIR`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on a dedicated thread that has entered this namespace, and
    /// return its result. Sockets, TUN devices and netlink connections `f`
    /// opens belong to the namespace for their whole life. A panic in `f`
    /// is propagated to the caller.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let file = self.open()?;
        std::thread::scope(|s| {
            s.spawn(move || {
                setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| KernelError::io(format!("setns into {}", self.name), e.into()))?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Start a thread that enters this namespace and runs `f` (a daemon
    /// that lives as long as the caller wants, unlike [`Netns::run`]). The
    /// thread's result is `Err` if it could not enter the namespace.
    pub fn spawn<F, R>(&self, f: F) -> Result<std::thread::JoinHandle<Result<R>>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let file = self.open()?;
        let name = self.name.clone();
        Ok(std::thread::spawn(move || {
            setns(&file, CloneFlags::CLONE_NEWNET)
                .map_err(|e| KernelError::io(format!("setns into {name}"), e.into()))?;
            Ok(f())
        }))
    }

    /// An open descriptor of the namespace (to move an interface into it).
    pub(crate) fn open(&self) -> Result<File> {
        if let Some(f) = &self.here {
            return f
                .try_clone()
                .map_err(|e| KernelError::io("duplicating the namespace descriptor", e));
        }
        File::open(&self.path)
            .map_err(|e| KernelError::io(format!("opening {}", self.path.display()), e))
    }
}

/// Unmount and remove a namespace file. The namespace itself goes away with
/// the last reference (mount, open descriptor or process) to it.
fn delete(path: &Path) -> Result<()> {
    match umount2(path, MntFlags::MNT_DETACH) {
        // EINVAL: not a mount point (creation failed before the bind mount).
        Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => {
            return Err(KernelError::io(
                format!("unmounting {}", path.display()),
                e.into(),
            ))
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KernelError::io(format!("removing {}", path.display()), e)),
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if self.here.is_some() {
            return;
        }
        if let Err(e) = delete(&self.path) {
            // Drop cannot fail; cleanup_stale() retries after this process exits.
            eprintln!("kernel lab: deleting namespace {}: {e}", self.name);
        }
    }
}

/// Delete `cgwk-<pid>-<n>` namespaces whose creating process no longer
/// exists (left by a process that was killed before its handles dropped).
/// Returns the names deleted.
pub fn cleanup_stale() -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KernelError::io(format!("reading {NETNS_DIR}"), e)),
    };
    let mut deleted = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| KernelError::io(format!("reading {NETNS_DIR}"), e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(pid) = stale_owner(&name) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        delete(&entry.path())?;
        deleted.push(name);
    }
    Ok(deleted)
}

/// The creating pid in `cgwk-<pid>-<n>`, or None for any other name.
fn stale_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?.strip_prefix('-')?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_read_only_from_our_names() {
        assert_eq!(stale_owner("cgwk-1234-7"), Some(1234));
        assert_eq!(stale_owner("cgwt-1234-7"), None);
        assert_eq!(stale_owner("cgwk-1234"), None);
        assert_eq!(stale_owner("cgwk-x-1"), None);
        assert_eq!(stale_owner("cgwkk-1-1"), None);
    }
}

/// Needs root, like the tests in `tests/kernel.rs`.
#[cfg(test)]
mod root_tests {
    use super::*;

    #[test]
    fn cleanup_stale_deletes_namespaces_of_dead_processes_only() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test creates network namespaces and needs root (uid 0)"
        );
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawning `true`");
        let dead = child.id();
        child.wait().expect("waiting for `true`");
        let stale = Netns::create(format!("{PREFIX}-{dead}-0")).unwrap();
        let stale_name = stale.name().to_string();
        let stale_path = stale.path().to_path_buf();
        // Leak it, as a killed process would.
        std::mem::forget(stale);
        let live = Netns::new().unwrap();

        let deleted = cleanup_stale().unwrap();
        assert!(deleted.contains(&stale_name), "{deleted:?}");
        assert!(!deleted.iter().any(|n| n == live.name()), "{deleted:?}");
        assert!(!stale_path.exists());
        assert!(live.path().exists());
    }
}
