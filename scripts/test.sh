#!/usr/bin/env bash
# make test: the same installs as `make up`, then the whole suite against the real broker and database.
# Infrastructure already running (from `make up`) is reused; what this script started, it stops.
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/install.sh"
bash "$ROOT/scripts/install-deploy-tools.sh"

started_infra=""
if ! pid_alive rabbitmq || ! pid_alive ferretdb; then started_infra=1; fi
bash "$ROOT/scripts/infra.sh" start
cleanup() { if [ -n "$started_infra" ]; then bash "$ROOT/scripts/infra.sh" stop; fi; }
trap cleanup EXIT

cd "$ROOT"
export PYTHONWARNINGS="ignore::DeprecationWarning"
"$PY" -m pytest "$@"
