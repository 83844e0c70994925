# Shared shell helpers for the project's scripts. Sourced, never run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
mkdir -p "$VAR/run" "$VAR/log" "$VAR/bin"

# Where the local infrastructure listens; override in the environment.
AMQP_PORT="${AMQP_PORT:-5672}"
MONGO_PORT="${MONGO_PORT:-27017}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
FERRETDB_VERSION="v1.24.2"

# root installs directly; anyone else goes through sudo.
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive NAME: the process recorded in var/run/NAME.pid is still running.
pid_alive() {
  local f="$VAR/run/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# stop_pid NAME: stop the process group we started under NAME, by its recorded pid only.
stop_pid() {
  local name="$1" f="$VAR/run/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    say "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

# start_bg NAME LOG CMD...: start CMD in its own session (so its children stop with it), record its pid.
start_bg() {
  local name="$1" log="$2"; shift 2
  setsid "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > "$VAR/run/$name.pid"
}

# require_free_port PORT WHAT: a port held by a process we did not start is a clear error, not a hang.
require_free_port() {
  if port_open "$1"; then
    die "port $1 (for $2) is already taken by another process; stop it, or choose another port (see README: environment variables)"
  fi
}

# load_local_secrets: the identity-signing and webhook-encryption keys for a local run, made once
# under var/ (mode 0600) unless the environment already sets them (as a deployment does).
load_local_secrets() {
  local f="$VAR/secrets.env"
  if [ ! -f "$f" ]; then
    (umask 077
     { echo "IDENTITY_SIGNING_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
       echo "WEBHOOK_SECRET_KEY=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_')"; } > "$f")
  fi
  local line name
  while IFS= read -r line; do
    name=${line%%=*}  # split at the first '=' only: a base64 key ends in '='
    [ -n "${!name:-}" ] || export "$line"
  done < "$f"
}
