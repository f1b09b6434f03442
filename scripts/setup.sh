#!/usr/bin/env bash
# Installs what Hutch needs on a Debian machine, idempotently: Debian packages (apt-get, as root),
# npm dependencies (npm ci when the lock file changed) and the TypeScript build.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run by hand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages: sandbox mechanisms (bubblewrap; crun/runc; QEMU for microVMs; debootstrap for
# the base template), the native-addon toolchain, and (for tests) a headless browser.
packages=(bubblewrap crun runc slirp4netns iproute2 util-linux procps psmisc python3 make g++ gcc libc6-dev openssl curl ca-certificates debootstrap qemu-system-x86 qemu-utils busybox-static e2fsprogs)
if [ "${HUTCH_SETUP_TEST:-0}" = 1 ]; then packages+=(chromium); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "hutch setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "hutch setup: run as root to install packages (apt-get)" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "hutch setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Native addons (better-sqlite3, node-pty) build from source against Node's own headers.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "hutch setup: npm ci"
  npm ci --no-audit --no-fund --foreground-scripts >/dev/null
fi

npm run --silent build

# The egress shim (LD_PRELOAD'ed into slirp4netns; docs/network.md), rebuilt only when its source
# is newer than the build. Without it, sandboxes get no network at all (fail closed).
shim_src=packages/hutch/native/egress-shim.c
shim_out=packages/hutch/native/build/hutch-egress-shim.so
if [ ! -f "$shim_out" ] || [ "$shim_src" -nt "$shim_out" ]; then
  echo "hutch setup: building the egress shim"
  mkdir -p "$(dirname "$shim_out")"
  gcc -shared -fPIC -O2 -Wall -o "$shim_out.tmp" "$shim_src" -ldl && mv "$shim_out.tmp" "$shim_out"
fi

# The process tier's launcher (native/hutch-launch.c: cgroup join, namespaces, seccomp and exec in
# one process), linked statically because it runs as root with the exec's environment. Without it
# the process tier falls back to the slower Perl prelude + nsenter.
launch_src=packages/hutch/native/hutch-launch.c
launch_out=packages/hutch/native/build/hutch-launch
if [ ! -f "$launch_out" ] || [ "$launch_src" -nt "$launch_out" ]; then
  echo "hutch setup: building the launcher"
  mkdir -p "$(dirname "$launch_out")"
  gcc -static -O2 -Wall -o "$launch_out.tmp" "$launch_src" && mv "$launch_out.tmp" "$launch_out"
fi

# The container tier's runtime namespace helper (native/hutch-mntns.c: one long-lived mount
# namespace without the hybrid cgroup2 that every crun call joins). Static for the same reason.
# Without it crun calls fall back to a throw-away namespace per call (slower).
mntns_src=packages/hutch/native/hutch-mntns.c
mntns_out=packages/hutch/native/build/hutch-mntns
if [ ! -f "$mntns_out" ] || [ "$mntns_src" -nt "$mntns_out" ]; then
  echo "hutch setup: building the runtime namespace helper"
  mkdir -p "$(dirname "$mntns_out")"
  gcc -static -O2 -Wall -o "$mntns_out.tmp" "$mntns_src" && mv "$mntns_out.tmp" "$mntns_out"
fi
