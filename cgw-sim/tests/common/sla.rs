//! What the SLA daemon tests share: a responder on a thread in a
//! namespace, bound before it is handed back, and a scrape of the
//! daemon's `/metrics`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use cgw_sim::sla_daemon::{self, responder};
use lab::kernel::Netns;

/// A running `cgw-sim sla --responder`.
pub struct Responder {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<lab::kernel::Result<responder::ResponderCounts>>,
}

impl Responder {
    /// Starts a responder on `listen` inside `ns` and returns once it is
    /// bound: a probe that met a closed port would count as unreachable.
    pub fn start(ns: &Netns, listen: SocketAddr) -> Responder {
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel::<()>();
        let thread = ns
            .spawn(move || {
                sla_daemon::runtime().unwrap().block_on(async {
                    let s = responder::bind(listen).await.unwrap();
                    bound_tx.send(()).unwrap();
                    responder::serve(s, async {
                        let _ = stop_rx.await;
                    })
                    .await
                })
            })
            .unwrap();
        bound_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("the responder did not bind {listen} within 10 s"));
        Responder { stop, thread }
    }

    /// Stops it and returns its counts.
    pub fn stop(self) -> responder::ResponderCounts {
        let _ = self.stop.send(());
        self.thread.join().unwrap().unwrap()
    }
}

/// The body of an HTTP/1.0 GET of `/metrics` on 127.0.0.1:9186 (call
/// inside the daemon's namespace).
pub fn scrape() -> String {
    let mut s = TcpStream::connect("127.0.0.1:9186").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_owned()
}

/// A running `cgw-sim sla` (its whole daemon: prober, `/metrics` on
/// 127.0.0.1:9186, control socket and events file under `dir`).
pub struct Daemon {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<lab::kernel::Result<Result<(), sla_daemon::SlaError>>>,
}

impl Daemon {
    /// Starts the daemon inside `ns` with `operations` (TOML
    /// `[[sla.operation]]` tables); its control socket is `dir/sla.sock`,
    /// its events `dir/events.jsonl`.
    pub fn start(ns: &Netns, dir: &std::path::Path, operations: &str) -> Daemon {
        let text = format!(
            "[sla]\ncontrol_socket = \"{}\"\nevents_path = \"{}\"\n\n{operations}",
            dir.join("sla.sock").display(),
            dir.join("events.jsonl").display()
        );
        let cfg = cgw_sim::config::SlaConfig::from_toml(&text, "test.toml").unwrap();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = ns
            .spawn(move || {
                sla_daemon::runtime()
                    .unwrap()
                    .block_on(sla_daemon::serve(&cfg, async {
                        let _ = stop_rx.await;
                    }))
            })
            .unwrap();
        Daemon { stop, thread }
    }

    /// Stops it; panics if it failed.
    pub fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().unwrap().unwrap().unwrap();
    }
}

/// The events file `dir/events.jsonl`, one JSON value per line.
pub fn events(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
