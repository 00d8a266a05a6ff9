#!/usr/bin/env bash
# Builds the pipeline's image from the repository's Dockerfile with podman on this machine, without an
# image registry and without pip reaching the package index from inside the build:
#   - base: Debian bookworm with Python 3 (what python:3.11-slim-bookworm provides), made with debootstrap
#     from the machine's Debian mirror and imported as localhost/atac2expr-base:bookworm (once);
#   - wheels: `pip download` on this machine into the build context's wheelhouse/ (once per pin set), which
#     the Dockerfile installs with --no-index;
#   - image: localhost/atac2expr:<version>-<hash of Dockerfile, .dockerignore, requirements, constraints and
#     base image>, also tagged localhost/atac2expr:<version> (the pipeline's default --container); an image
#     whose tag exists is not built again.
# podman runs as root with its own settings when its defaults cannot start a container here (no systemd, a
# low open-files limit): they go to a file of the cache that CONTAINERS_CONF names, /etc/containers stays
# untouched. Needs root (debootstrap, rootful podman); installs podman, runc and debootstrap with apt-get.
# Exit status 77: not possible on this machine (not root, or no apt-get for a missing tool); see common.sh.
# Prints the environment that runs the image: eval "$(bash setup/container/build.sh)"
#   ATAC2EXPR_IMAGE   the image's hashed tag, for --container
#   CONTAINERS_CONF   only when podman needs the settings above
# Cache: $ATAC2EXPR_HOME/container (default ~/.cache/atac2expr/container); the images live in podman's storage.
set -euo pipefail

# repo, cache, say, die, cannot (exit 77: not possible here), retry, apt_install, free_gb
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
base=localhost/atac2expr-base:bookworm

[ "$(id -u)" = 0 ] || cannot "needs root: debootstrap builds the base image and podman runs as root"
mkdir -p "$cache"

# --- tools ----------------------------------------------------------------------------------
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"

# --- base image: Debian bookworm + Python 3 -------------------------------------------------
# The machine's own mirror (apt sources, one-line or deb822 style) is the one known to be reachable.
apt_uris() { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
                 | awk '/^deb / {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) print $i} /^URIs:/ {for (i = 2; i <= NF; i++) print $i}'; }
mirror=${ATAC2EXPR_DEBIAN_MIRROR:-$(apt_uris | grep -E '/debian/?$' | head -1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${ATAC2EXPR_DEBIAN_SECURITY_MIRROR:-$(apt_uris | grep -E '/debian-security/?$' | head -1 || true)}
security=${security:-http://deb.debian.org/debian-security}

if ! podman image exists "$base"; then
    rootfs="$cache/rootfs"
    bootstrap() {
        rm -rf "$rootfs"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" >&2
    }
    say "building the base image $base with debootstrap from $mirror (a few minutes, once)"
    retry bootstrap || die "debootstrap failed (mirror $mirror; set ATAC2EXPR_DEBIAN_MIRROR to use another)"
    # the sources of Debian's own images: the release, its updates and its security fixes
    rm -f "$rootfs/etc/apt/sources.list"
    cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    tar -C "$rootfs" -c . | podman import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$base" >&2
    rm -rf "$rootfs"
fi

# --- podman settings ------------------------------------------------------------------------
# A user's CONTAINERS_CONF is theirs; otherwise podman's defaults are kept wherever they work.
probe() { podman run --rm --network=none "$base" true >/dev/null 2>&1; }
if [ -z "${CONTAINERS_CONF:-}" ] && ! probe; then
    export CONTAINERS_CONF="$cache/containers.conf"
    cat > "$CONTAINERS_CONF" <<'CONF'
# podman settings of atac2expr's container test (setup/container/build.sh), used through CONTAINERS_CONF
# where podman's defaults cannot start a container: no systemd (cgroupfs), runc, and no default ulimits
# above the machine's hard limits.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
    say "podman's defaults cannot start a container here; using $CONTAINERS_CONF"
fi
podman run --rm --network=none "$base" true >&2 || die "podman cannot start a container of $base (settings: ${CONTAINERS_CONF:-podman defaults})"

# --- image ----------------------------------------------------------------------------------
version=$(sed -n 's/.*org\.opencontainers\.image\.version="\([^"]*\)".*/\1/p' "$repo/Dockerfile" | head -1)
[ -n "$version" ] || die "no org.opencontainers.image.version label in $repo/Dockerfile"
base_id=$(podman image inspect --format '{{.Id}}' "$base")
hash=$( (cat "$repo/Dockerfile" "$repo/.dockerignore" "$repo/requirements.txt" "$repo/constraints.txt"; echo "$base_id") \
        | sha256sum | cut -c1-12)
image="localhost/atac2expr:$version-$hash"

if ! podman image exists "$image"; then
    # the wheels (~3 GB), the build stage and the image (~6 GB each) must fit, or the build fails late and leaves debris
    storage=$(podman info --format '{{.Store.GraphRoot}}')
    for dir in "$storage" "$cache"; do
        free=$(free_gb "$dir")
        [ "$free" -ge 20 ] || die "$dir has ${free} GB free; the image build needs about 20 GB"
    done
    # the build context lives in the cache: the wheels never enter the repository
    context="$cache/context"
    wheels_hash=$(cat "$repo/requirements.txt" "$repo/constraints.txt" | sha256sum | cut -c1-12)
    if [ "$(cat "$context/wheelhouse/.complete" 2>/dev/null)" != "$wheels_hash" ]; then
        # wheels of this machine's Python serve the image only when both are the same Python version
        image_python=$(podman run --rm --network=none "$base" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        host_python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        [ "$image_python" = "$host_python" ] || die "the base image has Python $image_python, this machine $host_python: the wheels would not fit"
        say "downloading the wheels of requirements.txt into $context/wheelhouse (several GB, once per pin set)"
        rm -rf "$context/wheelhouse" && mkdir -p "$context/wheelhouse"
        retry python3 -m pip download -q --disable-pip-version-check --only-binary=:all: -d "$context/wheelhouse" \
            -r "$repo/requirements.txt" -c "$repo/constraints.txt" >&2
        echo "$wheels_hash" > "$context/wheelhouse/.complete"
    fi
    cp "$repo/Dockerfile" "$repo/.dockerignore" "$repo/requirements.txt" "$repo/constraints.txt" "$context/"
    say "building $image from $repo/Dockerfile on $base"
    podman build --network=host --layers=false --build-arg BASE_IMAGE="$base" --label atac2expr.build-hash="$hash" \
        -t "$image" -t "localhost/atac2expr:$version" -f "$context/Dockerfile" "$context" >&2
    # earlier builds of this version are superseded: their layers would only fill the disk
    podman images --format '{{.Repository}}:{{.Tag}}' | grep -E "^localhost/atac2expr:$version-[0-9a-f]{12}$" \
        | grep -vxF "$image" | xargs -r podman rmi >&2 || true
else
    podman tag "$image" "localhost/atac2expr:$version"
fi
say "image $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.1f GB", $1 / 1e9}'))"

echo "export ATAC2EXPR_IMAGE=\"$image\""
[ -z "${CONTAINERS_CONF:-}" ] || echo "export CONTAINERS_CONF=\"$CONTAINERS_CONF\""
