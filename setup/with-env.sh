#!/usr/bin/env bash
# Runs a command with the pipeline's tools on PATH, installing them first when needed.
set -euo pipefail
eval "$(bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh")"
exec "$@"
