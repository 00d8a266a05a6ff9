#!/usr/bin/env bash
# Installs Debian's Slurm (slurm-wlm: slurmctld, slurmd, sbatch, squeue...) and munge when they
# are missing and we are root; otherwise says what is missing. Idempotent.
set -euo pipefail
say() { echo "setup/slurm: $*" >&2; }

missing=()
for cmd in sbatch squeue sinfo scancel slurmctld slurmd; do command -v "$cmd" >/dev/null || missing+=(slurm-wlm); done
for cmd in munged mungekey; do command -v "$cmd" >/dev/null || missing+=(munge); done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "missing: $packages(install Debian's slurm-wlm and munge as root, or run as root with apt-get)"
    exit 1
fi
say "installing Debian packages: $packages"
[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ] || apt-get update -qq >&2
# policy-rc.d keeps the packages' init scripts from starting system-wide daemons: start.sh runs its own.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >&2
