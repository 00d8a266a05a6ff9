#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the report tests, installing Debian's `chromium` package first
# when none is on PATH and this runs as root with apt-get. Otherwise exits 1 with the reason on stderr (the tests
# then skip, saying why).
set -euo pipefail
found() {
    local name
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}
if [ "$(id -u)" = 0 ] && command -v flock >/dev/null; then
    # one install at a time, and none half-done when found: make test installs it while the tests start
    exec 9>/tmp/atac2expr-chromium.lock
    flock 9
fi
found && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "no chromium on PATH, and Debian's package can only be installed as root with apt-get" >&2
    exit 1
fi
echo "setup: installing Debian's chromium (headless report checks)" >&2
[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ] || apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2 || {
    echo "apt-get install chromium failed" >&2
    exit 1
}
command -v chromium
