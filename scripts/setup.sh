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

# Hutch's small C helpers (packages/hutch/native/), each rebuilt only when its source is newer than
# its build. build_native <source> <output> <what> <gcc flags...> [-- <libraries...>]
build_native() {
  local src=$1 out=$2 what=$3
  shift 3
  if [ ! -f "$out" ] || [ "$src" -nt "$out" ]; then
    echo "hutch setup: building $what"
    mkdir -p "$(dirname "$out")"
    local flags=() libs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    libs=("$@")
    gcc "${flags[@]}" -o "$out.tmp" "$src" "${libs[@]}" && mv "$out.tmp" "$out"
  fi
}

# The egress shim (LD_PRELOAD'ed into slirp4netns; docs/network.md). Without it, sandboxes get no
# network at all (fail closed).
build_native packages/hutch/native/egress-shim.c packages/hutch/native/build/hutch-egress-shim.so \
  "the egress shim" -shared -fPIC -O2 -Wall -- -ldl

# The process tier's launcher (native/hutch-launch.c: cgroup join, namespaces, seccomp and exec in
# one process), linked statically because it runs as root with the exec's environment. Without it
# the process tier falls back to the slower Perl prelude + nsenter.
build_native packages/hutch/native/hutch-launch.c packages/hutch/native/build/hutch-launch \
  "the launcher" -static -O2 -Wall

# The exec agent (native/hutch-agent.c), started inside each process-tier sandbox so that an exec is
# a connect and a fork in the sandbox instead of a launcher process. Static: it runs in sandboxes
# whose root filesystem has no libc of the right version. Without it, exec uses the launcher.
build_native packages/hutch/native/hutch-agent.c packages/hutch/native/build/hutch-agent \
  "the exec agent" -static -O2 -Wall

# The container tier's runtime namespace helper (native/hutch-mntns.c: one long-lived mount
# namespace without the hybrid cgroup2 that every crun call joins). Static for the same reason.
# Without it crun calls fall back to a throw-away namespace per call (slower).
build_native packages/hutch/native/hutch-mntns.c packages/hutch/native/build/hutch-mntns \
  "the runtime namespace helper" -static -O2 -Wall
