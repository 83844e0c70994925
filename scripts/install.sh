#!/usr/bin/env bash
# Installs whatever is missing: the virtualenv and Python packages, RabbitMQ, FerretDB.
# Safe to run again: each step checks first and reuses what is there.
source "$(dirname "$0")/lib.sh"

install_python() {
  local stamp="$VAR/run/python-installed" want
  want="$(cat "$ROOT/constraints.txt" "$ROOT/requirements-dev.txt" "$ROOT"/libs/*/pyproject.toml \
          "$ROOT"/services/*/pyproject.toml "$ROOT/gateway/pyproject.toml" | sha256sum | cut -c1-16)"
  if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  say "installing Python packages into .venv (first run takes a minute or two)"
  command -v python3.11 >/dev/null || die "python3.11 is needed on PATH"
  [ -x "$PY" ] || python3.11 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip >"$VAR/log/install.log" 2>&1
  # compat mode puts each package dir on sys.path, so `gateway/` at the top never shadows the package.
  "$PY" -m pip install -q -c "$ROOT/constraints.txt" -r "$ROOT/requirements-dev.txt" --config-settings editable_mode=compat \
      -e "$ROOT/libs/coalition-common" \
      -e "$ROOT/services/registry" -e "$ROOT/services/mentor-bank" \
      -e "$ROOT/services/matching" -e "$ROOT/services/reporting" \
      -e "$ROOT/gateway" >>"$VAR/log/install.log" 2>&1 \
    || { tail -30 "$VAR/log/install.log" >&2; die "pip install failed; see var/log/install.log"; }
  echo "$want" > "$stamp"
}

install_rabbitmq() {
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && return 0
  say "installing RabbitMQ from Debian's rabbitmq-server package"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
}

# FerretDB v1.24.2 from the Go module proxy. `go install …@v1.24.2` builds, but the binary panics at start
# because the module zip lacks the generated build/version/version.txt; so we build the same module
# source with that one file written, as FerretDB's own `task gen-version` would.
install_ferretdb() {
  local bin="$VAR/bin/ferretdb"
  [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1 && return 0
  command -v go >/dev/null || die "Go is needed to build FerretDB"
  say "building FerretDB $FERRETDB_VERSION (first run only, a few minutes)"
  local src dir="$VAR/build/ferretdb-$FERRETDB_VERSION"
  src="$(cd "$VAR" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
        | "${PY:-python3}" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  cp -r "$src" "$dir"; chmod -R u+w "$dir"
  echo "$FERRETDB_VERSION" > "$dir/build/version/version.txt"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/ferretdb)
  "$bin" --version >/dev/null || die "FerretDB build did not produce a working binary"
}

install_rabbitmq
install_python
install_ferretdb
