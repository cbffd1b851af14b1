//! A strongSwan charon daemon in a network namespace, driven by swanctl.
//!
//! Recipe (REAL-PEERS.md): `charon-systemd` runs in the foreground in the
//! namespace with its own `strongswan.conf` (via `STRONGSWAN_CONF`), VICI
//! socket and log; `kernel-libipsec` does user-space ESP over a TUN device
//! `ipsec0` (this kernel has no ESP), which forces ESP-in-UDP on port 4500.
//! Connections are AWS-like: IKEv2, PSK, ids = addresses, 0.0.0.0/0
//! selectors, route-based (the inside /30 goes on `ipsec0`).

use crate::netns::{check_lab_prefix, check_lab_prefix6, is_lab_addr, Netns};
use crate::proc::{self, Daemon, Output, TestDir};
use crate::require;
use crate::tshark::{EspSaRow, IkeSaRow, KeyFiles};
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which side starts the exchange. Both load with `start_action = none`; the
/// initiator is the one the test drives with [`Charon::initiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Initiator,
    Responder,
}

/// Everything that goes into `strongswan.conf` and `swanctl.conf`.
#[derive(Debug, Clone)]
pub struct CharonConfig {
    /// Connection and child name (`swanctl --child NAME`).
    pub name: String,
    pub role: Role,
    /// Our outside address (also our IKE identity unless `local_id` is set).
    pub local_addr: Ipv4Addr,
    /// Our IKE identity when it is not `local_addr`: a gateway behind a
    /// source NAT identifies itself with the public address the peer knows.
    pub local_id: Option<Ipv4Addr>,
    /// The peer's outside address (also its IKE identity).
    pub remote_addr: Ipv4Addr,
    /// The interface IKE uses (`interfaces_use`), e.g. `"wan0"`.
    pub interface: String,
    /// IKE proposals, strongSwan syntax, e.g. `"aes128-sha1-modp1024"`;
    /// comma-separated for several.
    pub ike_proposals: String,
    /// ESP proposals, e.g. `"aes128gcm16"` or `"aes128-sha1-modp2048"`.
    pub esp_proposals: String,
    pub psk: String,
    /// `dpd_delay`; `None` disables DPD.
    pub dpd_delay: Option<Duration>,
    /// `dpd_action` of the child: `clear`, `trap` or `restart`.
    pub dpd_action: String,
    /// IKE SA `rekey_time` (AWS phase 1: 28800 s); `None` = no rekeying.
    pub ike_rekey_time: Option<Duration>,
    /// CHILD SA `rekey_time` (AWS phase 2: 3600 s); `None` = no rekeying.
    pub child_rekey_time: Option<Duration>,
    /// `encap = yes` (kernel-libipsec does ESP-in-UDP anyway).
    pub encap: bool,
    /// `mobike` (AWS: no).
    pub mobike: bool,
    /// `fragmentation = yes|no` (IKEv2 fragmentation, RFC 7383).
    pub fragmentation: bool,
    /// `charon.fragment_size` in bytes, if set.
    pub fragment_size: Option<u32>,
    /// Log IKE and CHILD SA keys (ike/chd level 4) so
    /// [`Charon::wireshark_keys`] can build decryption tables.
    pub key_log: bool,
    pub local_ts: String,
    pub remote_ts: String,
    /// Inside address to put on `ipsec0`, e.g. `"169.254.100.1/30"`.
    pub inside_addr: Option<String>,
    /// IPv6 inside address to put on `ipsec0` (IPv6 turned on for it
    /// alone, no link-local address), e.g. `"fd00:a9fe:10::1/126"`.
    pub inside_addr6: Option<String>,
    /// Extra raw lines for the connection block (e.g. `"reauth_time = 0"`).
    pub extra_conn: Vec<String>,
    /// Extra raw lines for the child block.
    pub extra_child: Vec<String>,
}

impl CharonConfig {
    /// An AWS-like connection with AWS's defaults; `role` says who initiates.
    pub fn new(role: Role, local_addr: Ipv4Addr, remote_addr: Ipv4Addr) -> CharonConfig {
        CharonConfig {
            name: "tun1".into(),
            role,
            local_addr,
            local_id: None,
            remote_addr,
            interface: "wan0".into(),
            ike_proposals: "aes128-sha1-modp2048".into(),
            esp_proposals: "aes128gcm16".into(),
            psk: "cgw-sim-lab-psk-not-a-secret-0123456789".into(),
            dpd_delay: Some(Duration::from_secs(10)),
            dpd_action: match role {
                Role::Initiator => "restart".into(),
                Role::Responder => "clear".into(),
            },
            ike_rekey_time: Some(Duration::from_secs(28800)),
            child_rekey_time: Some(Duration::from_secs(3600)),
            encap: true,
            mobike: false,
            fragmentation: true,
            fragment_size: None,
            key_log: false,
            local_ts: "0.0.0.0/0".into(),
            remote_ts: "0.0.0.0/0".into(),
            inside_addr: None,
            inside_addr6: None,
            extra_conn: Vec::new(),
            extra_child: Vec::new(),
        }
    }

    /// strongSwan playing one AWS tunnel endpoint (responder).
    pub fn aws_responder(local_addr: Ipv4Addr, remote_addr: Ipv4Addr) -> CharonConfig {
        CharonConfig::new(Role::Responder, local_addr, remote_addr)
    }

    /// strongSwan playing the customer gateway (initiator).
    pub fn cgw_initiator(local_addr: Ipv4Addr, remote_addr: Ipv4Addr) -> CharonConfig {
        CharonConfig::new(Role::Initiator, local_addr, remote_addr)
    }

    fn secs(d: Option<Duration>) -> String {
        format!("{}s", d.map(|d| d.as_secs()).unwrap_or(0))
    }

    /// The text of `strongswan.conf` for a daemon whose files live in `dir`.
    pub fn strongswan_conf(&self, dir: &Path) -> String {
        let lvl = if self.key_log { 4 } else { 1 };
        let frag = self
            .fragment_size
            .map(|s| format!("  fragment_size = {s}\n"))
            .unwrap_or_default();
        let dir = dir.display();
        format!(
            r#"# generated by cgw-sim-tests (strongswan.rs)
charon {{
  # exactly these plugins; kernel-libipsec before kernel-netlink so that
  # user-space ESP over the TUN device ipsec0 owns the IPsec backend
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm gmp curve25519 pem pkcs1 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  interfaces_use = {iface}
{frag}  plugins {{
    vici {{
      socket = unix://{dir}/charon.vici
    }}
    kernel-libipsec {{
      allow_peer_ts = no
    }}
  }}
  filelog {{
    lab {{
      path = {dir}/charon.log
      time_format = %H:%M:%S
      time_add_ms = yes
      ike_name = yes
      append = no
      flush_line = yes
      default = 1
      ike = {lvl}
      chd = {lvl}
      cfg = 2
      net = 1
      enc = 1
    }}
  }}
  syslog {{
    daemon {{
      default = -1
    }}
  }}
}}
charon-systemd {{
  journal {{
    default = -1
  }}
}}
"#,
            iface = self.interface,
        )
    }

    /// The text of `swanctl.conf`.
    pub fn swanctl_conf(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let extra_conn: String = self
            .extra_conn
            .iter()
            .map(|l| format!("    {l}\n"))
            .collect();
        let extra_child: String = self
            .extra_child
            .iter()
            .map(|l| format!("        {l}\n"))
            .collect();
        let dpd = self
            .dpd_delay
            .map(|d| format!("    dpd_delay = {}s\n", d.as_secs()))
            .unwrap_or_default();
        format!(
            r#"# generated by cgw-sim-tests (strongswan.rs), role {role:?}
connections {{
  {name} {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    proposals = {ike}
    rekey_time = {ike_rekey}
{dpd}    encap = {encap}
    mobike = {mobike}
    fragmentation = {frag}
{extra_conn}    local {{
      auth = psk
      id = {local_id}
    }}
    remote {{
      auth = psk
      id = {remote}
    }}
    children {{
      {name} {{
        mode = tunnel
        local_ts = {lts}
        remote_ts = {rts}
        esp_proposals = {esp}
        rekey_time = {child_rekey}
        dpd_action = {dpd_action}
        start_action = none
        close_action = none
{extra_child}      }}
    }}
  }}
}}
secrets {{
  ike-{name} {{
    id-a = {local_id}
    id-b = {remote}
    secret = "{psk}"
  }}
}}
"#,
            role = self.role,
            name = self.name,
            local = self.local_addr,
            local_id = self.local_id.unwrap_or(self.local_addr),
            remote = self.remote_addr,
            ike = self.ike_proposals,
            ike_rekey = Self::secs(self.ike_rekey_time),
            encap = yn(self.encap),
            mobike = yn(self.mobike),
            frag = yn(self.fragmentation),
            lts = self.local_ts,
            rts = self.remote_ts,
            esp = self.esp_proposals,
            child_rekey = Self::secs(self.child_rekey_time),
            dpd_action = self.dpd_action,
            psk = self.psk.replace('"', "\\\""),
        )
    }
}

/// A swanctl command that failed, with the daemon's recent log.
#[derive(Debug, Clone)]
pub struct SwanctlError {
    pub output: Output,
    pub log_tail: String,
}

impl fmt::Display for SwanctlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}--- charon.log (tail)\n{}", self.output, self.log_tail)
    }
}

impl std::error::Error for SwanctlError {}

/// A running charon in a namespace. Stopped (by its PID) on drop.
pub struct Charon {
    cfg: CharonConfig,
    ns: Netns,
    dir: TestDir,
    daemon: Daemon,
}

/// How long to wait for charon's VICI socket and `ipsec0`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of charon.log put into failure messages.
const TAIL_LINES: usize = 60;

impl Charon {
    /// Write the configs, start `charon-systemd` in `ns`, wait for its VICI
    /// socket and `ipsec0`, load the connection with swanctl, and put
    /// `cfg.inside_addr` on `ipsec0`. Panics (with the log tail) on failure.
    pub fn start(ns: &Netns, cfg: CharonConfig) -> Charon {
        require::strongswan();
        assert!(
            is_lab_addr(cfg.local_addr),
            "{} outside the lab plan",
            cfg.local_addr
        );
        assert!(
            is_lab_addr(cfg.remote_addr),
            "{} outside the lab plan",
            cfg.remote_addr
        );
        if let Some(a) = &cfg.inside_addr {
            check_lab_prefix(a);
        }
        if let Some(a) = &cfg.inside_addr6 {
            check_lab_prefix6(a);
        }
        if let Some(id) = cfg.local_id {
            assert!(is_lab_addr(id), "IKE identity {id} outside the lab plan");
        }
        let charon_bin = require::binary("charon-systemd");
        let dir = TestDir::new(&format!("charon-{:?}", cfg.role).to_lowercase());
        let conf = dir.join("strongswan.conf");
        std::fs::write(&conf, cfg.strongswan_conf(dir.path())).expect("write strongswan.conf");
        std::fs::write(dir.join("swanctl.conf"), cfg.swanctl_conf()).expect("write swanctl.conf");
        let conf_s = conf.display().to_string();
        let daemon = Daemon::spawn(
            "charon",
            &[
                "ip",
                "netns",
                "exec",
                ns.name(),
                charon_bin.to_str().expect("utf-8 path"),
            ],
            &[("STRONGSWAN_CONF", conf_s.as_str())],
            &dir.join("charon.out"),
            "charon-systemd",
            Duration::from_secs(5),
        );
        let mut c = Charon {
            cfg,
            ns: ns.clone(),
            dir,
            daemon,
        };
        let vici = c.dir.join("charon.vici");
        let ns2 = c.ns.clone();
        let up = proc::wait_until(START_TIMEOUT, Duration::from_millis(50), || {
            if !c.daemon.is_running() {
                return Some(false);
            }
            (vici.exists() && ns2.has_link("ipsec0")).then_some(true)
        });
        match up {
            Some(true) => {}
            Some(false) => panic!("charon exited during startup\n{}", c.failure_context()),
            None => panic!(
                "charon did not create its VICI socket and ipsec0 within {START_TIMEOUT:?}\n{}",
                c.failure_context()
            ),
        }
        let file = c.dir.join("swanctl.conf");
        let file_s = file.display().to_string();
        let out = c.swanctl(&["--load-all", "--noprompt", "--file", &file_s]);
        if !out.success() || !out.stdout.contains("successfully loaded 1 connections") {
            panic!(
                "swanctl --load-all failed (bad proposal string?)\n{}\n{}",
                out,
                c.failure_context()
            );
        }
        if let Some(a) = c.cfg.inside_addr6.clone() {
            c.ns.add_addr6("ipsec0", &a);
        }
        if let Some(a) = c.cfg.inside_addr.clone() {
            c.set_inside_addr(&a);
        }
        c
    }

    /// Put an inside address (e.g. `"169.254.100.1/30"`, AWS .1 / CGW .2) on
    /// `ipsec0` and bring it up: everything routed into `ipsec0` is then
    /// encrypted (route-based tunnel).
    pub fn set_inside_addr(&self, cidr: &str) {
        self.ns.add_addr("ipsec0", cidr);
        self.ns.link_up("ipsec0");
    }

    pub fn config(&self) -> &CharonConfig {
        &self.cfg
    }

    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The daemon's PID.
    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// Kill the daemon at once (SIGKILL to its own PID, then reap it): it
    /// vanishes without sending any Delete, as a crashed or unplugged peer.
    pub fn kill(&mut self) {
        self.daemon.stop_with(libc::SIGKILL);
    }

    /// Delete the CHILD SA only (`swanctl --terminate --child NAME`), waiting
    /// up to 10 s.
    pub fn terminate_child(&self) -> Result<(), SwanctlError> {
        self.checked(&["--terminate", "--child", &self.cfg.name, "--timeout", "10"])
            .map(|_| ())
    }

    /// Directory with strongswan.conf, swanctl.conf, charon.log, charon.vici.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// charon's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("charon.log")
    }

    /// The whole log.
    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        proc::tail(&self.log_path(), n)
    }

    /// A block for failure messages: PID, files, log tail, stdout.
    pub fn failure_context(&self) -> String {
        format!(
            "charon pid {} in {} (files in {}):\n--- charon.log (last {TAIL_LINES} lines)\n{}\n--- charon.out\n{}",
            self.daemon.pid(),
            self.ns.name(),
            self.dir().display(),
            self.log_tail(TAIL_LINES),
            proc::tail(&self.dir.join("charon.out"), 20),
        )
    }

    /// `unix:///.../charon.vici`
    pub fn vici_uri(&self) -> String {
        format!("unix://{}", self.dir.join("charon.vici").display())
    }

    /// Run `swanctl ARGS --uri <ours>` (bounded to 40 s).
    pub fn swanctl(&self, args: &[&str]) -> Output {
        let uri = self.vici_uri();
        let mut argv = vec!["swanctl"];
        argv.extend_from_slice(args);
        argv.extend(["--uri", uri.as_str()]);
        proc::run(&argv, &[], Duration::from_secs(40))
    }

    fn checked(&self, args: &[&str]) -> Result<String, SwanctlError> {
        let out = self.swanctl(args);
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(SwanctlError {
                output: out,
                log_tail: self.log_tail(TAIL_LINES),
            })
        }
    }

    /// Initiate the IKE SA and its child; waits up to 20 s for the result.
    pub fn initiate(&self) -> Result<(), SwanctlError> {
        let n = self.cfg.name.as_str();
        self.checked(&["--initiate", "--ike", n, "--child", n, "--timeout", "20"])
            .map(|_| ())
    }

    /// Rekey the CHILD SA (`swanctl --rekey --child NAME`); asynchronous:
    /// poll [`Charon::list_sas`] for the outcome.
    pub fn rekey_child(&self) -> Result<(), SwanctlError> {
        self.checked(&["--rekey", "--child", &self.cfg.name])
            .map(|_| ())
    }

    /// Rekey the IKE SA (`swanctl --rekey --ike NAME`); asynchronous.
    pub fn rekey_ike(&self) -> Result<(), SwanctlError> {
        self.checked(&["--rekey", "--ike", &self.cfg.name])
            .map(|_| ())
    }

    /// Delete the IKE SA (and its children), waiting up to 10 s.
    pub fn terminate(&self) -> Result<(), SwanctlError> {
        self.checked(&["--terminate", "--ike", &self.cfg.name, "--timeout", "10"])
            .map(|_| ())
    }

    /// The IKE SAs and their children, parsed from `swanctl --list-sas --raw`.
    /// Panics (with context) if swanctl itself fails.
    pub fn list_sas(&self) -> Vec<IkeSa> {
        match self.checked(&["--list-sas", "--raw"]) {
            Ok(out) => parse_list_sas(&out),
            Err(e) => panic!("swanctl --list-sas failed: {e}"),
        }
    }

    /// Wait until an IKE SA is ESTABLISHED with an INSTALLED child; returns
    /// it, or panics with both the SA list and the log tail.
    pub fn wait_established(&self, timeout: Duration) -> IkeSa {
        let r = proc::wait_until(timeout, Duration::from_millis(100), || {
            self.list_sas().into_iter().find(|s| {
                s.state == "ESTABLISHED" && s.children.iter().any(|c| c.state == "INSTALLED")
            })
        });
        r.unwrap_or_else(|| {
            panic!(
                "no ESTABLISHED IKE SA with an INSTALLED child within {timeout:?}; SAs: {:#?}\n{}",
                self.list_sas(),
                self.failure_context()
            )
        })
    }

    /// Wireshark decryption tables from the keys charon logged (needs
    /// `key_log`). IKE rows need the live IKE SA (SPIs and algorithms come from
    /// [`Charon::list_sas`]); ESP rows come from the log alone.
    pub fn wireshark_keys(&self) -> KeyFiles {
        assert!(
            self.cfg.key_log,
            "wireshark_keys needs CharonConfig::key_log = true"
        );
        let logged = parse_key_log(&self.log());
        let sas = self.list_sas();
        let mut keys = KeyFiles::default();
        for k in &logged.ike {
            let Some(sa) = sas.iter().find(|s| s.uniqueid == k.uniqueid) else {
                continue;
            };
            keys.ike.push(IkeSaRow {
                spi_i: sa.initiator_spi.clone(),
                spi_r: sa.responder_spi.clone(),
                sk_ei: k.sk_ei.clone(),
                sk_er: k.sk_er.clone(),
                encr: crate::tshark::ike_encr_name(&sa.encr_alg, sa.encr_keysize.unwrap_or(0)),
                sk_ai: k.sk_ai.clone(),
                sk_ar: k.sk_ar.clone(),
                integ: crate::tshark::ike_integ_name(sa.integ_alg.as_deref().unwrap_or("NONE")),
            });
        }
        for e in logged.esp {
            keys.esp.push(EspSaRow {
                src: e.src,
                dst: e.dst,
                spi: e.spi,
                encr: crate::tshark::esp_encr_name(&e.encr_alg),
                encr_key: e.encr_key,
                integ: crate::tshark::esp_integ_name(&e.integ_alg),
                integ_key: e.integ_key,
            });
        }
        keys
    }
}

impl Drop for Charon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.failure_context());
        }
        self.daemon.stop();
    }
}

// ---------------------------------------------------------------------------
// swanctl --list-sas --raw

/// An IKE SA as `swanctl --list-sas --raw` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IkeSa {
    /// Connection name.
    pub name: String,
    pub uniqueid: u32,
    pub version: u8,
    /// `ESTABLISHED`, `CONNECTING`, `REKEYING`, `DELETING`, ...
    pub state: String,
    pub local_host: String,
    pub local_port: u16,
    pub remote_host: String,
    pub remote_port: u16,
    /// Did this side initiate the IKE SA?
    pub initiator: bool,
    /// SPIs, 16 hex digits.
    pub initiator_spi: String,
    pub responder_spi: String,
    /// e.g. `AES_CBC`, `AES_GCM_16`.
    pub encr_alg: String,
    pub encr_keysize: Option<u16>,
    /// e.g. `HMAC_SHA1_96`; `None` for AEAD.
    pub integ_alg: Option<String>,
    /// e.g. `PRF_HMAC_SHA1`.
    pub prf_alg: String,
    /// e.g. `MODP_2048`, `ECP_256`, `CURVE_25519`.
    pub dh_group: String,
    pub children: Vec<ChildSa>,
    /// Every raw key=value of the IKE SA level (for anything not above).
    pub raw: HashMap<String, String>,
}

/// A CHILD SA as `swanctl --list-sas --raw` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildSa {
    pub name: String,
    pub uniqueid: u32,
    /// `INSTALLED`, `REKEYING`, `REKEYED`, `DELETING`, ...
    pub state: String,
    pub mode: String,
    /// `ESP`
    pub protocol: String,
    pub encap: bool,
    /// SPIs, 8 hex digits.
    pub spi_in: String,
    pub spi_out: String,
    pub encr_alg: String,
    pub encr_keysize: Option<u16>,
    pub integ_alg: Option<String>,
    /// DH group of the last CREATE_CHILD_SA (none for the first child).
    pub dh_group: Option<String>,
    pub bytes_in: u64,
    pub packets_in: u64,
    pub bytes_out: u64,
    pub packets_out: u64,
    pub local_ts: Vec<String>,
    pub remote_ts: Vec<String>,
    pub raw: HashMap<String, String>,
}

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    List(Vec<String>),
    Sec(Vec<(String, Val)>),
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '{' | '}' | '[' | ']' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(ch.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parse section items until a closing `}` (consumed) or the end.
fn parse_items(toks: &[String], pos: &mut usize) -> Vec<(String, Val)> {
    let mut items = Vec::new();
    while *pos < toks.len() {
        let t = &toks[*pos];
        *pos += 1;
        if t == "}" {
            break;
        }
        if toks.get(*pos).map(String::as_str) == Some("{") {
            *pos += 1;
            let sec = parse_items(toks, pos);
            items.push((t.clone(), Val::Sec(sec)));
        } else if let Some(key) = t.strip_suffix('=') {
            if toks.get(*pos).map(String::as_str) == Some("[") {
                *pos += 1;
                let mut list = Vec::new();
                while *pos < toks.len() && toks[*pos] != "]" {
                    list.push(toks[*pos].clone());
                    *pos += 1;
                }
                *pos += 1;
                items.push((key.to_string(), Val::List(list)));
            } else {
                items.push((key.to_string(), Val::Str(String::new())));
            }
        } else if let Some((k, v)) = t.split_once('=') {
            items.push((k.to_string(), Val::Str(v.to_string())));
        }
    }
    items
}

fn flat(items: &[(String, Val)]) -> HashMap<String, String> {
    items
        .iter()
        .filter_map(|(k, v)| match v {
            Val::Str(s) => Some((k.clone(), s.clone())),
            Val::List(l) => Some((k.clone(), l.join(","))),
            Val::Sec(_) => None,
        })
        .collect()
}

fn list_of(items: &[(String, Val)], key: &str) -> Vec<String> {
    items
        .iter()
        .find_map(|(k, v)| match v {
            Val::List(l) if k == key => Some(l.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn num<T: std::str::FromStr + Default>(m: &HashMap<String, String>, k: &str) -> T {
    m.get(k).and_then(|v| v.parse().ok()).unwrap_or_default()
}

fn get(m: &HashMap<String, String>, k: &str) -> String {
    m.get(k).cloned().unwrap_or_default()
}

/// Parse the output of `swanctl --list-sas --raw`.
pub fn parse_list_sas(text: &str) -> Vec<IkeSa> {
    let mut sas = Vec::new();
    for line in text.lines() {
        let Some(body) = line.trim().strip_prefix("list-sa event") else {
            continue;
        };
        let toks = tokenize(body);
        let mut pos = 0;
        // body is "{ name { ... } }"
        if toks.first().map(String::as_str) != Some("{") {
            continue;
        }
        pos += 1;
        for (name, val) in parse_items(&toks, &mut pos) {
            let Val::Sec(items) = val else { continue };
            let m = flat(&items);
            let mut sa = IkeSa {
                name,
                uniqueid: num(&m, "uniqueid"),
                version: num(&m, "version"),
                state: get(&m, "state"),
                local_host: get(&m, "local-host"),
                local_port: num(&m, "local-port"),
                remote_host: get(&m, "remote-host"),
                remote_port: num(&m, "remote-port"),
                initiator: m.get("initiator").is_some_and(|v| v == "yes"),
                initiator_spi: get(&m, "initiator-spi"),
                responder_spi: get(&m, "responder-spi"),
                encr_alg: get(&m, "encr-alg"),
                encr_keysize: m.get("encr-keysize").and_then(|v| v.parse().ok()),
                integ_alg: m.get("integ-alg").cloned(),
                prf_alg: get(&m, "prf-alg"),
                dh_group: get(&m, "dh-group"),
                children: Vec::new(),
                raw: m,
            };
            if let Some((_, Val::Sec(children))) = items.iter().find(|(k, _)| k == "child-sas") {
                for (_, c) in children {
                    let Val::Sec(ci) = c else { continue };
                    let cm = flat(ci);
                    sa.children.push(ChildSa {
                        name: get(&cm, "name"),
                        uniqueid: num(&cm, "uniqueid"),
                        state: get(&cm, "state"),
                        mode: get(&cm, "mode"),
                        protocol: get(&cm, "protocol"),
                        encap: cm.get("encap").is_some_and(|v| v == "yes"),
                        spi_in: get(&cm, "spi-in"),
                        spi_out: get(&cm, "spi-out"),
                        encr_alg: get(&cm, "encr-alg"),
                        encr_keysize: cm.get("encr-keysize").and_then(|v| v.parse().ok()),
                        integ_alg: cm.get("integ-alg").cloned(),
                        dh_group: cm.get("dh-group").cloned(),
                        bytes_in: num(&cm, "bytes-in"),
                        packets_in: num(&cm, "packets-in"),
                        bytes_out: num(&cm, "bytes-out"),
                        packets_out: num(&cm, "packets-out"),
                        local_ts: list_of(ci, "local-ts"),
                        remote_ts: list_of(ci, "remote-ts"),
                        raw: cm,
                    });
                }
            }
            sas.push(sa);
        }
    }
    sas
}

// ---------------------------------------------------------------------------
// key dumps in charon.log (ike = 4, chd = 4)

/// IKE SA keys charon logged, hex, for the IKE SA with this unique id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggedIkeKeys {
    pub uniqueid: u32,
    pub sk_ei: String,
    pub sk_er: String,
    pub sk_ai: String,
    pub sk_ar: String,
}

/// One direction of an ESP SA as charon installed it, keys hex.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggedEspSa {
    pub src: String,
    pub dst: String,
    /// `0x...` as logged.
    pub spi: String,
    /// strongSwan name, e.g. `AES_GCM_16`, `AES_CBC`.
    pub encr_alg: String,
    pub encr_key: String,
    /// strongSwan name, e.g. `HMAC_SHA1_96`; `NONE` for AEAD.
    pub integ_alg: String,
    pub integ_key: String,
}

/// Everything [`parse_key_log`] found.
#[derive(Debug, Clone, Default)]
pub struct LoggedKeys {
    pub ike: Vec<LoggedIkeKeys>,
    pub esp: Vec<LoggedEspSa>,
}

#[derive(Default)]
struct TagState {
    we_initiated: bool,
    encr: String,
    integ: String,
    keys: HashMap<String, String>,
    ike_keys_pending: bool,
    esp_dir: Option<bool>, // Some(true) = inbound
}

/// Split a charon log line into (tag uid, text after the tag).
fn split_tag(line: &str) -> Option<(String, &str)> {
    let start = line.find("] <")? + 3;
    let end = start + line[start..].find('>')?;
    let tag = &line[start..end];
    let uid = tag.rsplit('|').next()?.to_string();
    uid.chars().all(|c| c.is_ascii_digit()).then_some(())?;
    Some((uid, line.get(end + 2..).unwrap_or("")))
}

/// Parse charon's level-4 key dumps (IKE `Sk_e/a[ir]`, CHILD
/// `encryption|integrity initiator|responder key`) and the ESP SAs it added.
pub fn parse_key_log(log: &str) -> LoggedKeys {
    let mut out = LoggedKeys::default();
    let mut st: HashMap<String, TagState> = HashMap::new();
    // the hexdump being collected: (tag, key name, bytes remaining, hex so far)
    let mut cur: Option<(String, String, usize, String)> = None;
    for line in log.lines() {
        let Some((tag, text)) = split_tag(line) else {
            cur = None;
            continue;
        };
        // continuation of a hexdump: "   0: AA BB ... ascii"
        if let Some((ctag, _, remaining, hex)) = cur.as_mut() {
            let t = text.trim_start();
            if *ctag == tag {
                if let Some((off, rest)) = t.split_once(": ") {
                    if off.chars().all(|c| c.is_ascii_digit()) {
                        let take = (*remaining).min(16);
                        for tok in rest.split_whitespace().take(take) {
                            hex.push_str(&tok.to_ascii_lowercase());
                        }
                        *remaining -= take;
                        if *remaining == 0 {
                            let (ctag, name, _, hex) = cur.take().unwrap();
                            let s = st.entry(ctag).or_default();
                            if name == "Sk_er" {
                                s.ike_keys_pending = true;
                            }
                            s.keys.insert(name, hex);
                        }
                        continue;
                    }
                }
            }
        }
        cur = None;
        let s = st.entry(tag.clone()).or_default();
        if text.starts_with("parsed ")
            && (text.contains(" request ") || text.contains(" response "))
        {
            s.we_initiated = text.contains(" response ");
        }
        let t = text.trim();
        if let Some(alg) = t
            .strip_prefix("using ")
            .and_then(|r| r.strip_suffix(" for encryption"))
        {
            s.encr = alg.to_string();
            s.integ = "NONE".into();
        }
        if let Some(alg) = t
            .strip_prefix("using ")
            .and_then(|r| r.strip_suffix(" for integrity"))
        {
            s.integ = alg.to_string();
        }
        if t.starts_with("Sk_d secret =>") {
            for k in ["Sk_ai", "Sk_ar", "Sk_ei", "Sk_er"] {
                s.keys.remove(k);
            }
        }
        // start of a key dump: "Sk_ei secret => 16 bytes @ 0x..." or
        // "encryption initiator key => 20 bytes @ 0x..."
        if let Some((name, rest)) = t.split_once(" => ") {
            let keyname = match name.split_whitespace().collect::<Vec<_>>().as_slice() {
                [k, "secret"] if matches!(*k, "Sk_ei" | "Sk_er" | "Sk_ai" | "Sk_ar") => {
                    Some(k.to_string())
                }
                [a @ ("encryption" | "integrity"), b @ ("initiator" | "responder"), "key"] => {
                    Some(format!("{a}_{b}"))
                }
                _ => None,
            };
            if let Some(keyname) = keyname {
                let n: usize = rest
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if n == 0 {
                    if keyname == "Sk_er" {
                        s.ike_keys_pending = true;
                    }
                    s.keys.insert(keyname, String::new());
                } else {
                    cur = Some((tag.clone(), keyname, n, String::new()));
                }
                continue;
            }
        }
        // "IKE_SA tun1[3] established between ..." / "... rekeyed between ..."
        if let Some(rest) = t.strip_prefix("IKE_SA ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.len() >= 2 && matches!(words[1], "established" | "rekeyed") {
                let uid: Option<u32> = words[0]
                    .rsplit_once('[')
                    .and_then(|(_, r)| r.trim_end_matches(']').parse().ok());
                if let Some(uid) = uid {
                    let src = if st.get(&tag).is_some_and(|s| s.ike_keys_pending) {
                        Some(tag.clone())
                    } else if st.get(&uid.to_string()).is_some_and(|s| s.ike_keys_pending) {
                        Some(uid.to_string())
                    } else {
                        None
                    };
                    if let Some(src) = src {
                        let s = st.get_mut(&src).unwrap();
                        s.ike_keys_pending = false;
                        let k = |n: &str| s.keys.get(n).cloned().unwrap_or_default();
                        out.ike.push(LoggedIkeKeys {
                            uniqueid: uid,
                            sk_ei: k("Sk_ei"),
                            sk_er: k("Sk_er"),
                            sk_ai: k("Sk_ai"),
                            sk_ar: k("Sk_ar"),
                        });
                    }
                }
                continue;
            }
        }
        let s = st.get_mut(&tag).unwrap();
        if t.starts_with("adding inbound ESP SA") {
            s.esp_dir = Some(true);
            continue;
        }
        if t.starts_with("adding outbound ESP SA") {
            s.esp_dir = Some(false);
            continue;
        }
        if let (Some(inbound), Some(rest)) = (s.esp_dir, t.strip_prefix("SPI ")) {
            // "SPI 0x750a12ee, src 198.51.100.1 dst 192.0.2.1"
            let w: Vec<&str> = rest
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            if let [spi, "src", src, "dst", dst, ..] = w.as_slice() {
                // initiator keys protect initiator -> responder traffic
                let use_initiator_keys = if inbound {
                    !s.we_initiated
                } else {
                    s.we_initiated
                };
                let side = if use_initiator_keys {
                    "initiator"
                } else {
                    "responder"
                };
                out.esp.push(LoggedEspSa {
                    src: src.to_string(),
                    dst: dst.to_string(),
                    spi: spi.to_string(),
                    encr_alg: s.encr.clone(),
                    encr_key: s
                        .keys
                        .get(&format!("encryption_{side}"))
                        .cloned()
                        .unwrap_or_default(),
                    integ_alg: s.integ.clone(),
                    integ_key: s
                        .keys
                        .get(&format!("integrity_{side}"))
                        .cloned()
                        .unwrap_or_default(),
                });
            }
            s.esp_dir = None;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "list-sa event {tun1 {uniqueid=1 version=2 state=ESTABLISHED local-host=192.0.2.1 local-port=4500 local-id=192.0.2.1 remote-host=198.51.100.1 remote-port=4500 remote-id=198.51.100.1 initiator=yes initiator-spi=cb593b389368f6f0 responder-spi=79e8ce37778caf1e nat-remote=yes nat-any=yes encr-alg=AES_CBC encr-keysize=128 integ-alg=HMAC_SHA1_96 prf-alg=PRF_HMAC_SHA1 dh-group=MODP_2048 established=2 rekey-time=26739 child-sas {tun1-1 {name=tun1 uniqueid=1 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP encap=yes spi-in=750a12ee spi-out=4ff61d70 encr-alg=AES_GCM_16 encr-keysize=128 bytes-in=252 packets-in=3 use-in=1 bytes-out=252 packets-out=3 use-out=1 rekey-time=3361 life-time=3958 install-time=2 local-ts=[0.0.0.0/0] remote-ts=[0.0.0.0/0]}}}}\nlist-sas reply {}\n";

    #[test]
    fn parses_raw_list_sas() {
        let sas = parse_list_sas(RAW);
        assert_eq!(sas.len(), 1);
        let s = &sas[0];
        assert_eq!(s.name, "tun1");
        assert_eq!(s.state, "ESTABLISHED");
        assert!(s.initiator);
        assert_eq!(s.initiator_spi, "cb593b389368f6f0");
        assert_eq!(s.encr_alg, "AES_CBC");
        assert_eq!(s.encr_keysize, Some(128));
        assert_eq!(s.integ_alg.as_deref(), Some("HMAC_SHA1_96"));
        assert_eq!(s.prf_alg, "PRF_HMAC_SHA1");
        assert_eq!(s.dh_group, "MODP_2048");
        assert_eq!(s.local_port, 4500);
        let c = &s.children[0];
        assert_eq!(c.name, "tun1");
        assert_eq!(c.state, "INSTALLED");
        assert_eq!(c.protocol, "ESP");
        assert!(c.encap);
        assert_eq!(c.spi_in, "750a12ee");
        assert_eq!(c.spi_out, "4ff61d70");
        assert_eq!(c.encr_alg, "AES_GCM_16");
        assert_eq!(c.integ_alg, None);
        assert_eq!((c.packets_in, c.packets_out, c.bytes_in), (3, 3, 252));
        assert_eq!(c.local_ts, vec!["0.0.0.0/0".to_string()]);
    }

    #[test]
    fn parses_key_dumps() {
        let log = "\
20:04:18.643 14[ENC] <tun1|1> parsed IKE_SA_INIT response 0 [ SA KE No ]
20:04:18.645 14[IKE] <tun1|1> Sk_d secret => 20 bytes @ 0x7f1758
20:04:18.645 14[IKE] <tun1|1>    0: 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF  ................
20:04:18.645 14[IKE] <tun1|1>   16: 00 11 22 33                                      ....
20:04:18.645 14[IKE] <tun1|1> Sk_ai secret => 4 bytes @ 0x7f17
20:04:18.645 14[IKE] <tun1|1>    0: 01 02 03 04  ....
20:04:18.645 14[IKE] <tun1|1> Sk_ar secret => 4 bytes @ 0x7f17
20:04:18.645 14[IKE] <tun1|1>    0: 05 06 07 08  ....
20:04:18.645 14[IKE] <tun1|1> Sk_ei secret => 2 bytes @ 0x7f17
20:04:18.645 14[IKE] <tun1|1>    0: AA BB  ..
20:04:18.645 14[IKE] <tun1|1> Sk_er secret => 2 bytes @ 0x7f17
20:04:18.645 14[IKE] <tun1|1>    0: CC DD  ..
20:04:18.649 12[ENC] <tun1|1> parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr ]
20:04:18.649 12[IKE] <tun1|1> IKE_SA tun1[1] established between 192.0.2.1[192.0.2.1]...198.51.100.1[198.51.100.1]
20:04:18.650 12[CHD] <tun1|1>   using AES_GCM_16 for encryption
20:04:18.650 12[CHD] <tun1|1> encryption initiator key => 20 bytes @ 0x7f1750004e00
20:04:18.650 12[CHD] <tun1|1>    0: A3 1E 67 F2 01 16 33 83 1D CD 3A C5 AB A7 F0 5F  ..g...3...:...._
20:04:18.650 12[CHD] <tun1|1>   16: 12 3C 47 A0                                      .<G.
20:04:18.650 12[CHD] <tun1|1> encryption responder key => 20 bytes @ 0x7f1750004050
20:04:18.650 12[CHD] <tun1|1>    0: 72 B4 E3 4B FA 2F 0D CD 0D F7 EE 9F 7B 5C 94 1F  r..K./......{\\..
20:04:18.650 12[CHD] <tun1|1>   16: 5D 2E C6 C6                                      ]...
20:04:18.650 12[CHD] <tun1|1> adding inbound ESP SA
20:04:18.650 12[CHD] <tun1|1>   SPI 0x750a12ee, src 198.51.100.1 dst 192.0.2.1
20:04:18.650 12[CHD] <tun1|1> adding outbound ESP SA
20:04:18.650 12[CHD] <tun1|1>   SPI 0x4ff61d70, src 192.0.2.1 dst 198.51.100.1
";
        let k = parse_key_log(log);
        assert_eq!(
            k.ike,
            vec![LoggedIkeKeys {
                uniqueid: 1,
                sk_ei: "aabb".into(),
                sk_er: "ccdd".into(),
                sk_ai: "01020304".into(),
                sk_ar: "05060708".into(),
            }]
        );
        assert_eq!(k.esp.len(), 2);
        // we initiated: inbound is protected with the responder's keys
        assert_eq!(k.esp[0].spi, "0x750a12ee");
        assert_eq!(k.esp[0].src, "198.51.100.1");
        assert_eq!(
            k.esp[0].encr_key,
            "72b4e34bfa2f0dcd0df7ee9f7b5c941f5d2ec6c6"
        );
        assert_eq!(
            k.esp[1].encr_key,
            "a31e67f2011633831dcd3ac5aba7f05f123c47a0"
        );
        assert_eq!(k.esp[1].encr_alg, "AES_GCM_16");
        assert_eq!(k.esp[1].integ_alg, "NONE");
    }

    #[test]
    fn config_text() {
        let mut c = CharonConfig::aws_responder(
            Ipv4Addr::new(198, 51, 100, 10),
            Ipv4Addr::new(192, 0, 2, 10),
        );
        c.fragment_size = Some(1200);
        c.key_log = true;
        let s = c.swanctl_conf();
        assert!(s.contains("proposals = aes128-sha1-modp2048"), "{s}");
        assert!(s.contains("id = 198.51.100.10"));
        assert!(s.contains("start_action = none"));
        assert!(s.contains("mobike = no"));
        let g = c.strongswan_conf(Path::new("/tmp/x"));
        assert!(g.contains("fragment_size = 1200"));
        assert!(g.contains("ike = 4"));
        assert!(g.contains("socket = unix:///tmp/x/charon.vici"));
    }
}
