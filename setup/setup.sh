#!/usr/bin/env bash
# Installs what the pipeline and its tests need, idempotently, and prints the environment to use:
#   - Nextflow 24.10.8: the one on PATH, else resolved from Maven Central into the cache;
#   - kallisto: the one on PATH, else Debian's package when running as root, else advice;
#   - Python packages of requirements.txt and requirements-dev.txt (every transitive version fixed by
#     constraints.txt): a virtualenv in the cache keyed on the files' hash
#     (torch is large: a repeated setup reuses it).
# Cache: $ATAC2EXPR_HOME (default ${XDG_CACHE_HOME:-~/.cache}/atac2expr).
# Usage: eval "$(bash setup/setup.sh)"
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${ATAC2EXPR_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/atac2expr}
nf_version=24.10.8
mkdir -p "$home"
# one setup at a time per cache (parallel `make` targets and test sessions share it)
exec 9>"$home/.setup.lock"
flock 9
say() { echo "setup: $*" >&2; }

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        return 1
    fi
    say "installing Debian packages: $*"
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ] || apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- kallisto -------------------------------------------------------------------------------
if ! command -v kallisto >/dev/null; then
    apt_install kallisto || {
        say "kallisto is not on PATH and cannot be installed here (not root or no apt-get):"
        say "install it (e.g. conda install -c bioconda kallisto=0.48.0) or run the pipeline with -profile conda"
        exit 1
    }
fi

# --- Nextflow -------------------------------------------------------------------------------
nf_bin=""
if command -v nextflow >/dev/null && [ -z "${ATAC2EXPR_FORCE_NEXTFLOW_INSTALL:-}" ]; then
    nf_bin=$(dirname "$(command -v nextflow)")
else
    nf_home="$home/nextflow-$nf_version"
    if [ ! -x "$nf_home/bin/nextflow" ]; then
        command -v java >/dev/null || apt_install openjdk-17-jre-headless || { say "Java 11-23 is needed for Nextflow"; exit 1; }
        command -v mvn >/dev/null || apt_install maven || { say "Maven is needed to install Nextflow from Maven Central"; exit 1; }
        say "installing Nextflow $nf_version from Maven Central into $nf_home"
        tmp=$(mktemp -d "$home/.nextflow-install.XXXXXX")
        mvn -q -B -Dstyle.color=never -f "$repo/setup/nextflow-pom.xml" -Dnextflow.version="$nf_version" \
            dependency:copy-dependencies -DoutputDirectory="$tmp/lib" >&2
        mkdir -p "$tmp/bin"
        sed "s|@LIB@|$nf_home/lib|; s|@HOME@|$home/nxf_home|" "$repo/setup/nextflow-launcher.sh" > "$tmp/bin/nextflow"
        chmod +x "$tmp/bin/nextflow"
        rm -rf "$nf_home" && mv "$tmp" "$nf_home"
    fi
    nf_bin="$nf_home/bin"
fi

# --- Python virtualenv ----------------------------------------------------------------------
hash=$( (cat "$repo/requirements.txt" "$repo/requirements-dev.txt" "$repo/constraints.txt"; python3 --version) | sha256sum | cut -c1-12)
venv="$home/venv-$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
    say "creating virtualenv $venv (torch is large: this takes a few minutes once)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/requirements.txt" -r "$repo/requirements-dev.txt" \
        -c "$repo/constraints.txt" >&2
    touch "$venv/.complete"
fi

echo "export PATH=\"$venv/bin:$nf_bin:\$PATH\""
echo "export ATAC2EXPR_VENV=\"$venv\""
