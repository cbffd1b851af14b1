//! nftables tables of the kernel lab, driven with the `nft` binary inside a
//! namespace.
//!
//! Why the binary and not a netlink crate: the rules we need (payload
//! rewrites with checksum fix-ups, `numgen`, NAT, netdev ingress chains)
//! are one line each in nft's language, while the Rust nftables crates
//! either wrap this same binary (`nftables`, JSON over `nft -j`) or expose
//! raw expressions (`rustables`) that we would have to assemble and keep
//! in step with the kernel ourselves. The binary is part of Debian's base
//! firewall tooling and is already a requirement of the interop tests.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use lab::kernel::Netns;

use super::{KernelLabError, Result};

static TABLES: AtomicU64 = AtomicU64::new(0);

/// Prefix of every nftables table the kernel lab creates
/// (`cgwsim_<pid>_<n>`).
pub const TABLE_PREFIX: &str = "cgwsim";

/// A fresh table name carrying our PID.
pub(super) fn table_name() -> String {
    let n = TABLES.fetch_add(1, Ordering::Relaxed);
    format!("{TABLE_PREFIX}_{}_{n}", std::process::id())
}

/// Run `nft` with `args` (and `script` on stdin) in `ns`; its stdout.
pub(super) fn nft(ns: &Netns, args: &[&str], script: Option<&str>) -> Result<String> {
    let fail = |message: String| KernelLabError::Nft {
        ns: ns.name().to_string(),
        message,
    };
    let out = ns
        .run(|| {
            let mut child = Command::new("nft")
                .args(args)
                .stdin(if script.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            if let (Some(text), Some(mut stdin)) = (script, child.stdin.take()) {
                use std::io::Write;
                stdin.write_all(text.as_bytes())?;
            }
            child.wait_with_output()
        })?
        .map_err(|e| {
            fail(format!(
                "running nft {}: {e} (is nftables installed?)",
                args.join(" ")
            ))
        })?;
    if !out.status.success() {
        return Err(fail(format!(
            "nft {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
            script
                .map(|s| format!("\nscript:\n{s}"))
                .unwrap_or_default()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The names of every nftables table in `ns` (any family).
pub(super) fn tables(ns: &Netns) -> Result<Vec<String>> {
    let out = nft(ns, &["list", "tables"], None)?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("table "))
        .map(|l| l.split_whitespace().last().unwrap_or_default().to_string())
        .collect())
}

/// One of our netdev tables in a namespace: an ingress chain per device,
/// created on first use, holding drop and rewrite rules. Rules sit on the
/// ingress of both ends of a link, so they see every packet crossing it in
/// either direction, whatever the namespace does with it afterwards.
#[derive(Debug)]
pub(super) struct IngressTable {
    pub(super) name: String,
    chains: BTreeSet<String>,
}

/// A rule added to an [`IngressTable`], to delete it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleRef {
    pub(super) chain: String,
    pub(super) handle: u64,
}

impl IngressTable {
    /// Create the table in `ns`.
    pub(super) fn create(ns: &Netns) -> Result<IngressTable> {
        let name = table_name();
        nft(ns, &["add", "table", "netdev", &name], None)?;
        Ok(IngressTable {
            name,
            chains: BTreeSet::new(),
        })
    }

    /// Append `rule` (nft syntax, e.g. `meta protocol ip udp dport 500
    /// drop`) to `dev`'s ingress chain; its reference.
    pub(super) fn add_rule(&mut self, ns: &Netns, dev: &str, rule: &str) -> Result<RuleRef> {
        let chain = format!("in_{dev}");
        if !self.chains.contains(&chain) {
            let script = format!(
                "table netdev {t} {{\n  chain {chain} {{\n    type filter hook ingress device \"{dev}\" priority 0; policy accept;\n  }}\n}}\n",
                t = self.name
            );
            nft(ns, &["-f", "-"], Some(&script))?;
            self.chains.insert(chain.clone());
        }
        let mut args = vec!["-e", "-a", "add", "rule", "netdev", &self.name, &chain];
        args.extend(rule.split_whitespace());
        let out = nft(ns, &args, None)?;
        let handle = out
            .lines()
            .find_map(|l| {
                l.rsplit_once("# handle ")
                    .and_then(|(_, h)| h.trim().parse().ok())
            })
            .ok_or_else(|| KernelLabError::Nft {
                ns: ns.name().to_string(),
                message: format!("nft did not echo the new rule's handle: {out:?}"),
            })?;
        Ok(RuleRef { chain, handle })
    }

    /// Delete a rule added by [`IngressTable::add_rule`].
    pub(super) fn delete_rule(&self, ns: &Netns, rule: &RuleRef) -> Result<()> {
        let handle = rule.handle.to_string();
        nft(
            ns,
            &[
                "delete",
                "rule",
                "netdev",
                &self.name,
                &rule.chain,
                "handle",
                &handle,
            ],
            None,
        )
        .map(drop)
    }

    /// Delete the whole table (its chains and rules with it).
    pub(super) fn delete(&self, ns: &Netns) -> Result<()> {
        nft(ns, &["delete", "table", "netdev", &self.name], None).map(drop)
    }
}
