#!/usr/bin/env bash
# Runs a command with the pipeline's tools on PATH, installing them first when needed, and this clone's package
# (bin/atac2expr) and test helpers (tests/) on PYTHONPATH: benchmarks and test tools import them from any clone, while
# the virtualenv, shared by every clone of this cache, holds no install of the package.
set -euo pipefail
eval "$(bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh")"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONPATH="$repo/bin:$repo/tests${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
