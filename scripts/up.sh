#!/usr/bin/env bash
# make up: install what is missing, start everything in the background, seed the demo, print how to reach it.
source "$(dirname "$0")/lib.sh"
started_at=$(date +%s)

bash "$ROOT/scripts/install.sh"
bash "$ROOT/scripts/infra.sh" start

cd "$ROOT"
if ! pid_alive gateway && port_open "$GATEWAY_PORT"; then
  die "port $GATEWAY_PORT (for the gateway) is already taken by another process; set GATEWAY_PORT"
fi
export PYTHONWARNINGS="ignore::DeprecationWarning"
load_local_secrets
"$PY" scripts/stack.py start | sed "s/^/[$(date +%H:%M:%S)] /"

say "waiting for http://127.0.0.1:$GATEWAY_PORT/readyz"
ready=""
for i in $(seq 1 90); do
  if body=$(curl -fsS --max-time 3 "http://127.0.0.1:$GATEWAY_PORT/readyz" 2>/dev/null); then ready=1; break; fi
  if [ $((i % 5)) -eq 0 ]; then
    say "still waiting: $(curl -sS --max-time 3 "http://127.0.0.1:$GATEWAY_PORT/readyz" 2>/dev/null || echo 'gateway not answering yet')"
  fi
  sleep 1
done
[ -n "$ready" ] || die "the platform did not become ready in 90 s; logs are in var/log/"
say "ready: $body"

# Operator commands; their stderr (eventlet's import-time deprecation notice) goes to the log.
flask_cli() {
  (cd "$ROOT/gateway" && "$VENV/bin/flask" --app gateway "$@" 2>>"$VAR/log/cli.log") \
    || { tail -20 "$VAR/log/cli.log" >&2; die "flask $1 failed"; }
}
if [ -n "${COALITION_ADMIN_KEY:-}" ]; then flask_cli bootstrap-admin | sed "s/^/[$(date +%H:%M:%S)] /"; fi
flask_cli seed-demo --credentials-file "$VAR/demo-credentials.json" | sed "s/^/[$(date +%H:%M:%S)] /"

cat <<MSG

The coalition platform is up (took $(( $(date +%s) - started_at )) s).
  Gateway:   http://127.0.0.1:$GATEWAY_PORT
  API docs:  http://127.0.0.1:$GATEWAY_PORT/api/docs   (OpenAPI: /api/openapi.json)
  Readiness: http://127.0.0.1:$GATEWAY_PORT/readyz
  Logs:      var/log/
Demo credentials (send as 'Authorization: Bearer <key>'; invented people, local use only):
MSG
if [ -f "$VAR/demo-credentials.json" ]; then
  "$PY" -c 'import json,sys
for c in json.load(open(sys.argv[1])):
    if "key" in c:
        print("  %-34s %-16s %s" % (c["email"], ",".join(c["roles"]), c["key"]))
for c in json.load(open(sys.argv[1])):
    if "enrolment_token" in c:
        print("Not enrolled yet (exchange the token for a first key at POST /api/v1/enrolments):")
        print("  %-34s %-16s %s" % (c["email"], ",".join(c["roles"]), c["enrolment_token"]))' "$VAR/demo-credentials.json"
fi
[ -n "${COALITION_ADMIN_KEY:-}" ] && echo "  coalition admin: the key in COALITION_ADMIN_KEY"
echo "Try: curl -H \"Authorization: Bearer <key>\" http://127.0.0.1:$GATEWAY_PORT/api/v1/me"
echo "Pooling: with tomas.novak's key (Harbour, an NGO), GET /api/v1/mentors?isco=2 lists Northwind's and the"
echo "  accountants' mentors who consented to sharing (pooled fields only); priya.raman's key (Northwind) sees all of Northwind's."
echo "Matching: with tomas.novak's key, GET /api/v1/programs shows Harbour's autumn cohort (15 waiting mentees);"
echo "  POST /api/v1/programs/<id>/matching-runs, then GET /api/v1/matching-runs/<run id> for groups and reasons (README: Matching)."
echo "Stop everything with: make down"
