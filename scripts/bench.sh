#!/usr/bin/env bash
# make bench: speed figures against the running platform (start it with `make up`).
source "$(dirname "$0")/lib.sh"
curl -fsS --max-time 3 "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null || die "the platform is not ready; run 'make up' first"
export PYTHONWARNINGS="ignore"
"$PY" "$ROOT/bench/rpc_roundtrip.py"
"$PY" "$ROOT/bench/mentor_search.py"  # its own platform of 100,000 mentors; a few minutes
"$PY" "$ROOT/bench/mentor_import.py"  # its own platform; a 10,000-row CSV import, then the same file again
say "locust: 20 users for 20 s against http://127.0.0.1:$GATEWAY_PORT"
"$VENV/bin/locust" -f "$ROOT/bench/locustfile.py" --headless -u 20 -r 10 -t 20s --only-summary \
  --host "http://127.0.0.1:$GATEWAY_PORT" 2>&1 | grep -E "Type|GET|Aggregated|Percentage|---" || true
