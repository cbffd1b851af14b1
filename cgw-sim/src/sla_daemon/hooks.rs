//! Reaction commands: a reaction's `command` runs through `/bin/sh -c`
//! on every raise and clear, with the event in its environment:
//!
//! | variable | value |
//! |---|---|
//! | `SLA_OPERATION` | the operation's name |
//! | `SLA_REACTION` | the reaction's name |
//! | `SLA_MEASURE` | `rtt`, `jitter`, `loss`, `mos` or `timeout` |
//! | `SLA_STATE` | `raised` or `cleared` |
//! | `SLA_VALUE` | the value that decided it |
//! | `SLA_THRESHOLD` | the threshold crossed |
//! | `SLA_TARGET`, `SLA_TUNNEL` | the operation's target and tunnel (empty if none) |
//!
//! Never on the probing loop's path: each command is spawned and reaped
//! by its own task, at most [`MAX_RUNNING`] at once (more are dropped with
//! a warning, so a flapping reaction cannot fork-bomb the host), and one
//! still running after [`HOOK_TIMEOUT`] is killed.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use sla::config::OperationConfig;
use sla::reaction::ReactionEvent;

use super::events::measure_name;

/// Commands running at once, at most.
pub const MAX_RUNNING: usize = 8;

/// A command still running after this is killed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// The reaction commands' runner.
#[derive(Debug)]
pub struct Hooks {
    slots: Arc<Semaphore>,
    /// Commands started.
    pub started: u64,
    /// Commands dropped (too many running).
    pub dropped: u64,
}

impl Default for Hooks {
    fn default() -> Hooks {
        Hooks {
            slots: Arc::new(Semaphore::new(MAX_RUNNING)),
            started: 0,
            dropped: 0,
        }
    }
}

impl Hooks {
    /// Runs `command` for `event` of operation `cfg` in the background.
    /// Must be called inside the runtime.
    pub fn run(&mut self, command: &str, cfg: &OperationConfig, event: &ReactionEvent) {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            self.dropped += 1;
            tracing::warn!(operation = %cfg.name, reaction = %event.reaction,
                "{MAX_RUNNING} reaction commands running already; not starting another");
            return;
        };
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(command)
            .env("SLA_OPERATION", &cfg.name)
            .env("SLA_REACTION", &event.reaction)
            .env("SLA_MEASURE", measure_name(event.measure))
            .env("SLA_STATE", if event.raised { "raised" } else { "cleared" })
            .env("SLA_VALUE", event.value.to_string())
            .env("SLA_THRESHOLD", event.threshold.to_string())
            .env("SLA_TARGET", cfg.target.to_string())
            .env(
                "SLA_TUNNEL",
                cfg.tunnel.map(|t| t.to_string()).unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(operation = %cfg.name, reaction = %event.reaction, error = %e,
                    "cannot start the reaction command");
                return;
            }
        };
        self.started += 1;
        let (op, reaction) = (cfg.name.clone(), event.reaction.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HOOK_TIMEOUT, child.wait()).await {
                Ok(Ok(st)) if st.success() => {}
                Ok(Ok(st)) => {
                    tracing::warn!(operation = %op, %reaction, status = %st, "reaction command failed")
                }
                Ok(Err(e)) => {
                    tracing::warn!(operation = %op, %reaction, error = %e, "reaction command")
                }
                Err(_) => {
                    tracing::warn!(operation = %op, %reaction, "reaction command still running after {HOOK_TIMEOUT:?}: killed");
                    let _ = child.kill().await;
                }
            }
        });
    }
}
