#!/usr/bin/env bash
# Docker Engine with the pipeline's image, on this machine, without an image registry:
#   - engine: Debian's docker.io (dockerd, its own client, containerd, runc), installed with apt-get when
#     there is no dockerd;
#   - daemon: a dockerd that answers on /var/run/docker.sock is reused; otherwise one is started in the
#     background (no systemd needed), its log in the cache (dockerd.log), and the socket is waited for;
#   - client: the engine's own client (the same version as the daemon), put first on PATH through a link in
#     the cache, since another `docker` earlier on PATH (a newer CLI without an engine) may not be the engine's;
#   - image: the one setup/container/build.sh builds with podman, copied into Docker once per build hash.
# Why `podman save | docker load` rather than `docker build` from the same debootstrapped base: both engines
# then run the very same layers, so a difference between their results is the engine's, not a second build's;
# it takes a minute instead of a second 4-7 minute build (and ~6 GB of build stage); and it does not depend
# on which builder this Docker has (docker.io 20.10's legacy builder, or BuildKit). `docker build` of the
# Dockerfile is therefore not exercised here.
# Needs root; exit status 77: not possible on this machine (not root, or no apt-get for a missing tool).
# Prints the environment that runs the image: eval "$(bash setup/container/docker.sh)"
#   ATAC2EXPR_IMAGE   the image's hashed tag in Docker (the same tag as podman's), for --container
#   DOCKER_HOST       the daemon's socket (a docker context of the user's cannot point elsewhere)
#   PATH              with the engine's client first
# The image is also tagged atac2expr:<version>, the pipeline's default --container.
set -euo pipefail

# repo, cache, say, die, cannot (exit 77: not possible here), retry, apt_install, free_gb
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
socket=/var/run/docker.sock
export PATH="$PATH:/usr/sbin:/sbin"   # dockerd's folder, where a user's PATH leaves it out
export DOCKER_HOST="unix://$socket"

[ "$(id -u)" = 0 ] || cannot "needs root: dockerd runs as root"
mkdir -p "$cache"

# --- engine ---------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null; then
    # an engine without its client is not the case to handle here: docker.io brings both
    apt_install docker.io
fi
command -v dockerd >/dev/null || die "docker.io is installed but there is no dockerd on PATH"

# --- daemon ---------------------------------------------------------------------------------
# any client can ask whether a daemon is up: the API version is negotiated
any_client=$(command -v docker || true)
[ -n "$any_client" ] || die "no docker client on PATH"
answers() { "$any_client" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
wait_for_daemon() {
    local second
    for second in $(seq 1 "$1"); do
        answers && return 0
        sleep 1
    done
    return 1
}
if ! answers; then
    if pgrep -x dockerd >/dev/null; then
        say "a dockerd is running but does not answer on $socket yet; waiting"
        wait_for_daemon 60 || die "the running dockerd (pid $(pgrep -x dockerd | tr '\n' ' ')) does not answer on $socket"
    else
        say "starting dockerd (log: $cache/dockerd.log)"
        # setsid: the daemon outlives this script and the make or pytest run that started it
        echo "--- $(date -u +%FT%TZ) started by $0" >> "$cache/dockerd.log"
        setsid nohup dockerd --host "unix://$socket" >> "$cache/dockerd.log" 2>&1 < /dev/null &
        wait_for_daemon 60 || { tail -20 "$cache/dockerd.log" >&2; die "dockerd did not answer on $socket within 60 s (log: $cache/dockerd.log)"; }
    fi
fi
server=$("$any_client" version --format '{{.Server.Version}}')

# --- client ---------------------------------------------------------------------------------
# the engine's own client: the first `docker` (Debian's /usr/bin/docker, then those on PATH) of the
# daemon's version
client=
for candidate in /usr/bin/docker $(type -ap docker); do
    [ -x "$candidate" ] || continue
    if [ "$("$candidate" version --format '{{.Client.Version}}' 2>/dev/null)" = "$server" ]; then
        client=$candidate
        break
    fi
done
[ -n "$client" ] || die "no docker client of the daemon's version $server (found: $(type -ap docker | tr '\n' ' ')); install the engine's client"
mkdir -p "$cache/docker-bin"
ln -sfn "$client" "$cache/docker-bin/docker"
export PATH="$cache/docker-bin:$PATH"

# --- image ----------------------------------------------------------------------------------
# the podman image (built when missing; its own progress on stderr)
exports=$(bash "$repo/setup/container/build.sh") || exit $?
eval "$exports"
image=$ATAC2EXPR_IMAGE
version=${image##*:}
version=${version%-*}
if ! docker image inspect "$image" >/dev/null 2>&1; then
    root=$(docker info --format '{{.DockerRootDir}}')
    bytes=$(podman image inspect --format '{{.Size}}' "$image")
    size=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e9}')
    free=$(free_gb "$root")
    [ "$free" -ge $(( bytes / 1000000000 + 3 )) ] || die "$root has ${free} GB free; the image needs $size GB in Docker"
    say "copying $image from podman into Docker ($size GB, once per build; about 2 minutes)"
    podman save --format docker-archive "$image" | docker load >&2 \
        || die "podman save | docker load of $image failed"
    docker image inspect "$image" >/dev/null || die "docker load did not give $image"
fi
docker tag "$image" "atac2expr:$version"
# earlier builds of this version are superseded: their layers would only fill the disk
docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "^localhost/atac2expr:$version-[0-9a-f]{12}$" \
    | grep -vxF "$image" | xargs -r docker rmi >&2 || true
docker run --rm --network=none "$image" true >&2 || die "Docker cannot start a container of $image (log: $cache/dockerd.log)"
say "Docker $server ($client), image $image"

echo "export ATAC2EXPR_IMAGE=\"$image\""
echo "export DOCKER_HOST=\"$DOCKER_HOST\""
echo "export PATH=\"$cache/docker-bin:\$PATH\""
