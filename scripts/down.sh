#!/usr/bin/env bash
# make down: stop what `make up` started, by recorded pid only.
source "$(dirname "$0")/lib.sh"
if [ -x "$PY" ]; then "$PY" "$ROOT/scripts/stack.py" stop; fi
bash "$ROOT/scripts/infra.sh" stop
