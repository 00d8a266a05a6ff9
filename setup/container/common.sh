# Shared by setup/container/build.sh (podman) and setup/container/docker.sh (Docker Engine); sourced, not run.
# Exit status 77 means "cannot be done on this machine" (not root, or a tool is missing and there is no
# apt-get to install it): `make test-container` goes on and the container tests skip with the reason.
# Any other failure, e.g. an apt-get install that fails as root, is an error.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
home=${ATAC2EXPR_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/atac2expr}
cache="$home/container"
say() { echo "container: $*" >&2; }
die() { say "$*"; exit 1; }
cannot() { say "$*"; exit 77; }

# Mirrors go down for a minute now and then: a failed download is retried before the build fails.
retry() {
    local attempt
    for attempt in 1 2 3; do
        "$@" && return 0
        [ "$attempt" = 3 ] || { say "failed (attempt $attempt of 3), retrying in $((attempt * 20)) s: $*"; sleep $((attempt * 20)); }
    done
    return 1
}

# apt_install PACKAGE...: Debian packages, without their recommendations
apt_install() {
    command -v apt-get >/dev/null || cannot "missing $* and no apt-get to install them"
    say "installing Debian packages: $*"
    retry apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive retry apt-get install -y -qq --no-install-recommends "$@" >&2 \
        || die "apt-get install $* failed"
}

# free_gb DIR: gigabytes free on DIR's file system
free_gb() { df --output=avail -BG "$1" | tail -1 | tr -dc 0-9; }
