#!/usr/bin/env bash
# test.sh - THE test command: test dependencies, formatting, lints, the whole
# test suite (unit, simulated-network and interop tests). Run as root from the
# repository root or anywhere inside it:
#
#   sudo scripts/test.sh
#
# Interop tests drive real strongSwan/BIRD/tshark in network namespaces, so
# they need root; this script refuses to start without it.
# Steps run in order; a failed step does not stop the later ones (so one run
# shows every problem), and the exit status is non-zero if any step failed.
# Extra arguments are passed to `cargo test` (e.g. `scripts/test.sh -- --nocapture`).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
export PATH="$PATH:/usr/sbin:/sbin"
# cargo may live in ~/.cargo/bin without being on a non-login PATH
[[ -d ${CARGO_HOME:-$HOME/.cargo}/bin ]] && export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"

if [[ $EUID -ne 0 ]]; then
  echo "test.sh: ERROR: must run as root: the interop tests create network namespaces," >&2
  echo "test.sh:        TUN devices and run strongSwan/BIRD/tshark inside them. Use: sudo scripts/test.sh" >&2
  exit 1
fi
command -v cargo >/dev/null || { echo "test.sh: ERROR: cargo not found on PATH" >&2; exit 1; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/cgw-sim-test.XXXXXX")
declare -a NAMES=() RESULTS=() TIMES=()
FAILED=0

step() {  # step <name> <cmd...>
  local name=$1; shift
  local t0=$SECONDS rc
  printf '\n==== %s: %s\n' "$name" "$*"
  "$@"
  rc=$?
  NAMES+=("$name"); TIMES+=("$((SECONDS - t0))s")
  if (( rc == 0 )); then RESULTS+=("ok"); else RESULTS+=("FAILED (exit $rc)"); FAILED=1; fi
  return $rc
}

run_tests() {
  # keep cargo's output on the console and in a log we can sum up
  cargo test --workspace "$@" 2>&1 | tee "$LOGDIR/cargo-test.log"
  return "${PIPESTATUS[0]}"
}

step "test dependencies" "$ROOT/scripts/install-test-deps.sh"
step "rustfmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets -- -D warnings
step "cargo test" run_tests "$@"

# sum the "test result: ok. N passed; M failed; K ignored" lines of all binaries
read -r PASSED FAILED_T IGNORED < <(
  awk '/^test result:/ {
         for (i = 1; i <= NF; i++) {
           if ($(i+1) ~ /^passed/)  p += $i
           if ($(i+1) ~ /^failed/)  f += $i
           if ($(i+1) ~ /^ignored/) g += $i
         }
       } END { print p+0, f+0, g+0 }' "$LOGDIR/cargo-test.log" 2>/dev/null || echo "0 0 0")

printf '\n==== summary\n'
for i in "${!NAMES[@]}"; do
  printf '  %-18s %-18s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
done
if (( IGNORED > 0 )); then
  echo "  ($IGNORED tests ignored)"
fi
echo "  logs: $LOGDIR"
if (( FAILED )); then
  echo "test.sh: FAILED"
else
  echo "test.sh: all steps passed"
fi
echo "tests: $PASSED passed, $FAILED_T failed"
exit "$FAILED"
