#!/usr/bin/env bash
# Stops the daemons that start.sh started under STATE_DIR (by their pid files) and cancels the
# jobs still in that cluster. Leaves STATE_DIR (logs) in place.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
dir=$(cd "$1" 2>/dev/null && pwd) || exit 0
if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
fi
stop_pid() {  # pid file, name
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1" 2>/dev/null) || return 0
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    echo "setup/slurm: $2 ($pid) did not stop on SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}
stop_pid "$dir/slurmd.pid" slurmd
stop_pid "$dir/slurmctld.pid" slurmctld
stop_pid "$dir/munge/munged.pid" munged
