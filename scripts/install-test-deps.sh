#!/usr/bin/env bash
# install-test-deps.sh - make sure the real peers the interop tests drive are
# installed: strongSwan (charon-systemd + swanctl + kernel-libipsec), tshark,
# BIRD 2, iproute2, ping, nftables, procps, iperf3 (benchmarks), fping (the SLA
# daemon's icmp-echo is compared with it), systemd (systemd-analyze verifies
# the packaged unit; nothing is started).
#
# Idempotent; quiet when everything is present. Needs root (apt-get) only when
# something is missing. Debian 12 (bookworm).
#
# Usage: scripts/install-test-deps.sh [--dry-run] [--check]
#   --dry-run  report what is missing and the apt-get commands, change nothing
#              (exit 1 if something is missing)
#   --check    verify only, never install (exit 1 if something is missing)
# Env (for testing this script): CGW_TEST_DEPS_EXTRA="name ..." adds binaries
#   that must be on PATH (e.g. a fake name to exercise the "missing" path).
set -euo pipefail

PACKAGES=(
  strongswan-swanctl charon-systemd libcharon-extra-plugins
  libstrongswan-extra-plugins libstrongswan-standard-plugins
  tshark iproute2 iputils-ping nftables procps bird2 iperf3 fping systemd
)
# binary -> package that provides it (for the error message)
declare -A PROVIDER=(
  [charon-systemd]=charon-systemd [swanctl]=strongswan-swanctl [tshark]=tshark
  [ip]=iproute2 [ping]=iputils-ping [nft]=nftables [bird]=bird2 [birdc]=bird2
  [setsid]=util-linux [pgrep]=procps [iperf3]=iperf3 [fping]=fping
  [systemd-analyze]=systemd
)
BINARIES=(charon-systemd swanctl tshark ip ping nft bird birdc setsid iperf3 fping systemd-analyze)
# shellcheck disable=SC2206
BINARIES+=(${CGW_TEST_DEPS_EXTRA:-})
# kernel-libipsec (user-space ESP over TUN): the kernel here has no ESP/XFRM
LIBIPSEC_DIRS=(/usr/lib/ipsec/plugins /usr/lib/x86_64-linux-gnu/ipsec/plugins /usr/lib/aarch64-linux-gnu/ipsec/plugins)
LIBIPSEC_SO=libstrongswan-kernel-libipsec.so

MODE=install
for arg in "$@"; do
  case $arg in
    --dry-run) MODE=dry-run ;;
    --check) MODE=check ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install-test-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# sbin directories are not always on a non-root PATH
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
find_missing() {
  missing=()
  local b
  for b in "${BINARIES[@]}"; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b (package ${PROVIDER[$b]:-unknown})")
  done
  local d found=0
  for d in "${LIBIPSEC_DIRS[@]}"; do
    [[ -f $d/$LIBIPSEC_SO ]] && found=1
  done
  (( found )) || missing+=("strongSwan plugin $LIBIPSEC_SO (package libcharon-extra-plugins)")
}

find_missing
(( ${#missing[@]} == 0 )) && exit 0

echo "install-test-deps: missing:" >&2
printf '  - %s\n' "${missing[@]}" >&2

APT_CMDS=(
  "echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections"
  "apt-get update"
  "apt-get install -y --no-install-recommends ${PACKAGES[*]}"
)
case $MODE in
  check) echo "install-test-deps: run scripts/install-test-deps.sh as root to install them" >&2; exit 1 ;;
  dry-run)
    echo "install-test-deps: dry run; would run:" >&2
    printf '  %s\n' "${APT_CMDS[@]}" >&2
    exit 1 ;;
esac

if [[ $EUID -ne 0 ]]; then
  echo "install-test-deps: ERROR: not root; cannot apt-get install. Run as root: sudo scripts/install-test-deps.sh" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "install-test-deps: ERROR: no apt-get (this script supports Debian 12)" >&2; exit 1; }

echo "install-test-deps: installing ${PACKAGES[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq </dev/null >&2
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" </dev/null >&2

find_missing
if (( ${#missing[@]} )); then
  echo "install-test-deps: ERROR: still missing after apt-get install:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "install-test-deps: all test dependencies present" >&2
