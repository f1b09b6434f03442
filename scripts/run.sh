#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts the Hutch server on the embedded
# default (process tier, SQLite under the data directory). Arguments go to `hutch serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# The base template (Debian + python3, git, sudo, user `user`): built once, then cached machine-wide.
node packages/hutch/dist/src/cli/main.js template prepare >/dev/null
exec node packages/hutch/dist/src/cli/main.js serve "$@"
