#!/usr/bin/env bash
# make test's layers side by side: a Nextflow session spends much of its time waiting on its tasks, so on 2 cores
# one session leaves most of a core idle. The end-to-end tests that read the shared runs (tests/conftest.py:
# shared_run, stub_run) run in one pytest session; beside it, the unit tests, then the end-to-end tests that need
# neither (ATAC2EXPR_E2E_LAYER picks them), each session with its own basetemp. Every layer runs to its end; the
# exit status is non-zero when any of them failed, and each layer's output is printed whole, the shared session's
# last.
# Usage: tests/run_layers.sh [pytest arguments...]   (run through setup/with-env.sh, as make test does)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
e2e=(-m "e2e and not slurm and not container")

ATAC2EXPR_E2E_LAYER=shared python -m pytest tests "${e2e[@]}" --basetemp "$tmp/shared" "$@" > "$tmp/shared.log" 2>&1 &
shared=$!

python -m pytest tests -m "not e2e and not slurm and not container" --basetemp "$tmp/unit" "$@"
unit=$?
ATAC2EXPR_E2E_LAYER=independent python -m pytest tests "${e2e[@]}" --basetemp "$tmp/independent" "$@"
independent=$?
wait "$shared"
shared_status=$?
cat "$tmp/shared.log"

echo "make test: unit tests exit ${unit}; end-to-end tests without the shared runs exit ${independent}, with them exit ${shared_status}"
[ "$unit" = 0 ] && [ "$independent" = 0 ] && [ "$shared_status" = 0 ]
