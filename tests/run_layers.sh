#!/usr/bin/env bash
# make test's layers side by side: a Nextflow session spends much of its time starting its JVM and waiting on its
# tasks, so on 2 cores one session leaves a core idle. Three pytest sessions run at once, each with its own basetemp:
# the end-to-end tests that read the shared real run (tests/conftest.py: shared_run), those that read only the stub
# run (stub_run), and the unit tests followed by the end-to-end tests that need neither (ATAC2EXPR_E2E_LAYER picks
# them). Every layer runs to its end; the exit status is non-zero when any of them failed, and each layer's output is
# printed whole.
# Usage: tests/run_layers.sh [pytest arguments...]   (run through setup/with-env.sh, as make test does)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
e2e=(-m "e2e and not slurm and not container")

# headless Chromium for the report pages' checks, installed (when missing, as root) while the tests start: the tests
# that open a page wait for it (setup/chromium.sh holds a lock while it installs), and skip, saying why, without it
bash setup/chromium.sh > /dev/null 2> "$tmp/chromium.log" &
chromium=$!

# one stub run for two sessions: the stub session saves it in this file, the shared session's test of the stub tables'
# headers waits for it (tests/conftest.py: stub_run)
export ATAC2EXPR_STUB_RUN="$tmp/stub_run.json"
# the shared real run's session is the longest: the others yield the CPU to it
ATAC2EXPR_E2E_LAYER=stub nice -n 10 python -m pytest tests "${e2e[@]}" --basetemp "$tmp/stub" "$@" > "$tmp/stub.log" 2>&1 &
stub=$!
ATAC2EXPR_E2E_LAYER=shared ATAC2EXPR_STUB_SESSION=$stub python -m pytest tests "${e2e[@]}" --basetemp "$tmp/shared" "$@" > "$tmp/shared.log" 2>&1 &
shared=$!

nice -n 10 python -m pytest tests -m "not e2e and not slurm and not container" --basetemp "$tmp/unit" "$@"
unit=$?
ATAC2EXPR_E2E_LAYER=independent nice -n 10 python -m pytest tests "${e2e[@]}" --basetemp "$tmp/independent" "$@"
independent=$?
wait "$stub"
stub_status=$?
cat "$tmp/stub.log"
wait "$shared"
shared_status=$?
cat "$tmp/shared.log"
wait "$chromium" || echo "no headless Chromium here: the browser checks of the reports skipped ($(tail -1 "$tmp/chromium.log"))"

echo "make test: unit tests exit ${unit}; end-to-end tests without the shared runs exit ${independent}," \
     "with the stub run only exit ${stub_status}, with the real run exit ${shared_status}"
[ "$unit" = 0 ] && [ "$independent" = 0 ] && [ "$stub_status" = 0 ] && [ "$shared_status" = 0 ]
