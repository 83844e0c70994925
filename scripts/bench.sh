#!/usr/bin/env bash
# make bench: speed figures. `bash scripts/bench.sh [all|platform|matching] [matching options]`:
#   platform  against the running platform (start it with `make up`);
#   matching  the matching engine alone on synthetic coalitions (no platform needed; about 25 min,
#             options go to bench/matching.py, e.g. `matching --sizes 2000 --no-milp`);
#   all       both (the default).
source "$(dirname "$0")/lib.sh"
PART="${1:-all}"
[ $# -gt 0 ] && shift
case "$PART" in all|platform|matching) ;; *) die "usage: bash scripts/bench.sh [all|platform|matching] [options for bench/matching.py]" ;; esac
export PYTHONWARNINGS="ignore"
if [ "$PART" != matching ]; then
  curl -fsS --max-time 3 "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null || die "the platform is not ready; run 'make up' first (or 'bash scripts/bench.sh matching' for the engine alone)"
  "$PY" "$ROOT/bench/rpc_roundtrip.py"
  "$PY" "$ROOT/bench/mentor_search.py"  # its own platform of 100,000 mentors; a few minutes
  "$PY" "$ROOT/bench/mentor_import.py"  # its own platform; a 10,000-row CSV import, then the same file again
  say "locust: 20 users for 20 s against http://127.0.0.1:$GATEWAY_PORT"
  "$VENV/bin/locust" -f "$ROOT/bench/locustfile.py" --headless -u 20 -r 10 -t 20s --only-summary \
    --host "http://127.0.0.1:$GATEWAY_PORT" 2>&1 | grep -E "Type|GET|Aggregated|Percentage|---" || true
fi
if [ "$PART" != platform ]; then
  say "matching engine vs greedy on synthetic coalitions of 2,000, 20,000 and 50,000 mentees (exact MILP at 2,000)"
  "$PY" "$ROOT/bench/matching.py" "$@"
fi
