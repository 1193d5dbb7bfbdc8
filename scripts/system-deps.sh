#!/usr/bin/env bash
# Install the Debian packages the test suite needs, when we can (root + apt-get).
# Tests that need a package which could not be installed skip with a printed reason.
set -u
need=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
# Debian's chromium for the doctor-page test (playwright drives it; never `playwright install`).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# wrk: the light load generator of benchmarks/diagnosis (it falls back to httpx without it).
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# tcpdump: the loopback capture of the no-record-leaves-a-hospital test (needs root to run).
command -v tcpdump >/dev/null 2>&1 || [ -x /usr/bin/tcpdump ] || need+=(tcpdump)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: cannot install ${need[*]} (need root and apt-get); tests needing them will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || echo "system-deps: apt-get update failed" >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || echo "system-deps: could not install ${need[*]}; tests needing them will skip" >&2
exit 0
