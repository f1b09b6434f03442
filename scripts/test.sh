#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (unit, conformance,
# host integration where the machine supports it, end to end). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
HUTCH_SETUP_TEST=1 source scripts/setup.sh
exec node scripts/run-tests.mjs "$@"
