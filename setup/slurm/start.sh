#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd with
# every file (config, key, sockets, state, logs, pid files) under STATE_DIR, nothing in /etc.
#   bash setup/slurm/start.sh STATE_DIR     # prints `export SLURM_CONF=STATE_DIR/slurm.conf`
#   bash setup/slurm/stop.sh STATE_DIR
# The node is NodeName=localhost with this machine's CPUs and memory (slurmd -C), in partition
# `debug`; process tracking without cgroups (proctrack/linuxproc, task/none), consumable cores and
# memory (select/cons_tres). Jobs run as the submitting user. Needs root (slurmd starts jobs as
# their owner), or an already running cluster. Waits until `sinfo` shows the node idle.
set -euo pipefail
say() { echo "setup/slurm: $*" >&2; }
[ $# -eq 1 ] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(mkdir -p "$1" && cd "$1" && pwd)
timeout_s=${SLURM_START_TIMEOUT:-90}

bash "$here/install.sh"
if [ "$(id -u)" != 0 ]; then
    say "slurmd must run as root to start jobs; run this as root"
    exit 1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

mkdir -p "$dir/munge" "$dir/ctld" "$dir/spool" "$dir/log"
chmod 755 "$dir/munge"   # clients of every user reach the socket; the key stays 0600

# --- munge: its own key and socket ------------------------------------------------------------
[ -s "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
chmod 600 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
munged --force --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
munge --socket="$socket" -n | unmunge --socket="$socket" >/dev/null || { say "munged does not answer; see $dir/log/munged.log"; exit 1; }

# --- slurm.conf ---------------------------------------------------------------------------------
read -r cpus memory < <(slurmd -C | awk '/^NodeName/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "CPUs") c = kv[2]; if (kv[1] == "RealMemory") m = kv[2] }
    print c, m }')
memory=$(( memory * 95 / 100 ))   # a margin: slurmd drains a node that reports less than configured
ctld_port=${SLURMCTLD_PORT:-$(free_port)}
slurmd_port=${SLURMD_PORT:-$(free_port)}
host=$(hostname -s)
cat > "$dir/slurm.conf" <<CONF
# One-node test cluster written by setup/slurm/start.sh
ClusterName=atac2expr
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${socket}
StateSaveLocation=${dir}/ctld
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
ReturnToService=2
KillWait=10
MinJobAge=3600
InactiveLimit=0
SlurmdTimeout=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

# --- daemons --------------------------------------------------------------------------------------
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
deadline=$(( $(date +%s) + timeout_s ))
state=""
while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(sinfo --noheader --nodes=localhost --format=%t 2>/dev/null || true)
    case "$state" in idle*) break ;; esac
    sleep 1
done
case "$state" in
    idle*) say "one-node cluster up (partition debug, $cpus CPUs, $memory MB, ports $ctld_port/$slurmd_port, state in $dir)" ;;
    *) say "node not idle after ${timeout_s}s (state '${state}'); logs in $dir/log"; tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
       bash "$here/stop.sh" "$dir"; exit 1 ;;
esac
echo "export SLURM_CONF=\"$SLURM_CONF\""
