//! Preflight checks for interop tests.
//!
//! A test that needs a real peer calls these first. They never skip: when
//! something is missing they panic with a message that says what and how to
//! fix it, so a missing peer shows up as a failed test, not a silent pass.

use std::path::{Path, PathBuf};

/// Directories searched besides `$PATH` (sbin is often not on a user's PATH).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Where strongSwan's plugins live on Debian (multiarch or not).
const PLUGIN_DIRS: &[&str] = &[
    "/usr/lib/ipsec/plugins",
    "/usr/lib/x86_64-linux-gnu/ipsec/plugins",
    "/usr/lib/aarch64-linux-gnu/ipsec/plugins",
];

/// Find `name` on `$PATH` or in the sbin/bin directories; `None` if absent.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The process runs as root (needed for namespaces, TUN, captures).
pub fn root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "interop test needs root (euid is {euid}): it creates network namespaces, \
         veth and TUN devices; run the suite as root: sudo scripts/test.sh"
    );
}

/// A binary is installed; returns its full path.
pub fn binary(name: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!(
            "missing binary `{name}` needed by this interop test; \
             run scripts/install-test-deps.sh (as root) to install the test peers"
        )
    })
}

/// `/dev/net/tun` exists (kernel-libipsec and our own TUN devices need it).
pub fn tun() {
    use std::os::unix::fs::FileTypeExt;
    let ok = std::fs::metadata("/dev/net/tun")
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false);
    assert!(
        ok,
        "no /dev/net/tun character device: TUN is required (strongSwan's kernel-libipsec \
         and cgw-sim's data plane use it); create it with `mkdir -p /dev/net && \
         mknod /dev/net/tun c 10 200` or load the tun module"
    );
}

/// strongSwan's kernel-libipsec plugin (user-space ESP over TUN); returns the .so path.
pub fn libipsec_plugin() -> PathBuf {
    PLUGIN_DIRS
        .iter()
        .map(|d| Path::new(d).join("libstrongswan-kernel-libipsec.so"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "missing strongSwan plugin libstrongswan-kernel-libipsec.so (package \
                 libcharon-extra-plugins; this kernel has no ESP/XFRM, so strongSwan must \
                 run user-space ESP); run scripts/install-test-deps.sh (as root)"
            )
        })
}

/// Namespaces can be made: root and `ip`.
pub fn netns() {
    root();
    binary("ip");
}

/// Everything a strongSwan peer needs: root, TUN, charon-systemd, swanctl,
/// kernel-libipsec.
pub fn strongswan() {
    netns();
    tun();
    binary("charon-systemd");
    binary("swanctl");
    libipsec_plugin();
}

/// tshark is installed.
pub fn tshark() {
    root();
    binary("tshark");
}

/// tshark is installed, to read capture files (no root needed: nothing is
/// captured live).
pub fn tshark_reader() {
    binary("tshark");
}

/// BIRD 2 is installed (`bird` and `birdc`).
pub fn bird() {
    netns();
    binary("bird");
    binary("birdc");
}

/// `ping` (iputils) is installed.
pub fn ping() {
    binary("ping");
}

/// `nft` (nftables) is installed, e.g. for loss or firewall faults.
pub fn nft() {
    binary("nft");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_panics_with_install_hint() {
        let err = std::panic::catch_unwind(|| binary("cgwt-no-such-binary-xyz")).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("cgwt-no-such-binary-xyz"), "{msg}");
        assert!(msg.contains("scripts/install-test-deps.sh"), "{msg}");
    }

    #[test]
    fn finds_sh() {
        assert!(find_binary("sh").is_some());
    }
}
