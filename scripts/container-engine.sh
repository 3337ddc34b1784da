#!/usr/bin/env bash
# Install, configure and start the container engine meta-agent's sandbox uses: Podman with
# its Docker-compatible API (see docs/isolation.md). Prints the DOCKER_HOST to use on stdout:
#
#   export DOCKER_HOST=$(scripts/container-engine.sh)
#
# Idempotent: a socket that already answers is reused; packages and settings are only added
# when missing. What it does on a Debian machine like ours (root, no Docker daemon):
#   1. apt-get install -y podman runc            (when podman is missing)
#   2. /etc/containers/containers.conf [engine]: runtime = "runc", cgroup_manager = "cgroupfs"
#      (crun fails on hybrid cgroups; systemd is not PID 1 here)
#   3. podman system service --time=0 unix:///run/meta-agent/podman.sock  (in the background)
# A Docker Engine that already answers on $DOCKER_HOST or /var/run/docker.sock is used as is.
# Progress goes to stderr; exit status 1 with a reason when the engine cannot be started.
set -euo pipefail

SOCK_DIR=${META_AGENT_ENGINE_DIR:-/run/meta-agent}
SOCK="$SOCK_DIR/podman.sock"
LOG="$SOCK_DIR/podman-service.log"
CONF=/etc/containers/containers.conf

say() { echo "container-engine: $*" >&2; }
die() { say "$*"; exit 1; }

answers() {  # answers unix:///path/to.sock -> 0 when the Docker API replies to /_ping
  local path=${1#unix://}
  [ -S "$path" ] || return 1
  curl -fsS --max-time 3 --unix-socket "$path" http://d/_ping >/dev/null 2>&1
}

# 0. an engine that already answers
for candidate in "${DOCKER_HOST:-}" "unix://$SOCK" "unix:///var/run/docker.sock"; do
  case "$candidate" in
    unix://*) if answers "$candidate"; then say "engine answers on $candidate"; echo "$candidate"; exit 0; fi ;;
    tcp://*|ssh://*) say "DOCKER_HOST=$candidate is not a local socket; checking it is left to the client"; echo "$candidate"; exit 0 ;;
  esac
done

# 1. packages
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "podman/runc are not installed and installing needs root: sudo apt-get install -y podman runc"
  say "installing podman and runc"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >&2; } \
    || die "apt-get install podman runc failed"
fi

# 2. containers.conf: [engine] runtime = "runc", cgroup_manager = "cgroupfs" (kept otherwise intact)
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$(dirname "$CONF")"
  touch "$CONF"
  python3 - "$CONF" <<'PY'
import re, sys
path = sys.argv[1]
want = {"runtime": '"runc"', "cgroup_manager": '"cgroupfs"'}
lines = open(path).read().splitlines()
out, section, seen, has_engine = [], None, set(), False
def flush_missing():
    for k, v in want.items():
        if k not in seen:
            out.append(f"{k} = {v}")
            seen.add(k)
for line in lines:
    m = re.match(r"\s*\[([^\]]+)\]\s*$", line)
    if m:
        if section == "engine":
            flush_missing()
        section = m.group(1).strip()
        has_engine |= section == "engine"
        out.append(line)
        continue
    k = re.match(r"\s*([A-Za-z_]+)\s*=", line)
    if section == "engine" and k and k.group(1) in want:
        out.append(f"{k.group(1)} = {want[k.group(1)]}")
        seen.add(k.group(1))
        continue
    out.append(line)
if section == "engine":
    flush_missing()
if not has_engine:
    out += ["", "[engine]"] + [f"{k} = {v}" for k, v in want.items()]
text = "\n".join(out).lstrip("\n") + "\n"
if text != open(path).read():
    open(path, "w").write(text)
    print(f"container-engine: updated {path}", file=sys.stderr)
PY
else
  say "not root: leaving $CONF as it is (rootless podman is not what these settings are for)"
fi

# 3. the API socket
mkdir -p "$SOCK_DIR"
chmod 0710 "$SOCK_DIR"
if ! answers "unix://$SOCK"; then
  rm -f "$SOCK"
  say "starting podman system service on unix://$SOCK (log: $LOG)"
  # From $SOCK_DIR: conmon inherits the service's working directory and, on cgroup v1, drops
  # an "oom" marker file there when a container is OOM-killed.
  # Every descriptor of the background service (and of the subshell that starts it) goes to the
  # log: an inherited stdout would keep `DOCKER_HOST=$(scripts/container-engine.sh)` waiting
  # for EOF forever.
  (cd "$SOCK_DIR" && exec setsid podman system service --time=0 "unix://$SOCK") >>"$LOG" 2>&1 </dev/null &
  disown || true
  for _ in $(seq 1 100); do
    answers "unix://$SOCK" && break
    sleep 0.1
  done
fi
answers "unix://$SOCK" || die "podman's API did not answer on unix://$SOCK; see $LOG"
say "engine answers on unix://$SOCK ($(podman --version))"
echo "unix://$SOCK"
