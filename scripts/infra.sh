#!/usr/bin/env bash
# Starts or stops the local broker (RabbitMQ) and database (FerretDB on SQLite) under var/.
# usage: infra.sh start|stop|status
source "$(dirname "$0")/lib.sh"

RMQ_HOME="$VAR/rabbitmq"
RMQ_BIN=/usr/lib/rabbitmq/bin
# RabbitMQ keeps all of its state, logs, cookie and config under var/rabbitmq.
RMQ_ENV=(HOME="$RMQ_HOME" RABBITMQ_BASE="$RMQ_HOME" RABBITMQ_MNESIA_BASE="$RMQ_HOME/mnesia" \
      RABBITMQ_LOG_BASE="$VAR/log/rabbitmq" RABBITMQ_NODENAME="coalition@localhost" \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" \
      RABBITMQ_DIST_PORT="$((AMQP_PORT + 20000))" \
      RABBITMQ_CONFIG_FILE="$RMQ_HOME/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_HOME/enabled_plugins" \
      RABBITMQ_CONF_ENV_FILE="$RMQ_HOME/rabbitmq-env.conf" RABBITMQ_PID_FILE="$RMQ_HOME/rabbit.pid")
rabbitmqctl() { env "${RMQ_ENV[@]}" "$RMQ_BIN/rabbitmqctl" "$@"; }

start_rabbitmq() {
  if pid_alive rabbitmq; then say "RabbitMQ already running on 127.0.0.1:$AMQP_PORT"; return 0; fi
  require_free_port "$AMQP_PORT" "RabbitMQ"
  mkdir -p "$RMQ_HOME" "$VAR/log/rabbitmq"
  echo "[]." > "$RMQ_HOME/enabled_plugins"
  : > "$RMQ_HOME/rabbitmq-env.conf"
  printf 'listeners.tcp.default = 127.0.0.1:%s\n' "$AMQP_PORT" > "$RMQ_HOME/rabbitmq.conf"
  # epmd is Erlang's port mapper; note whether it was already there so `down` leaves others' alone.
  if ! pgrep -x epmd >/dev/null; then touch "$VAR/run/epmd.ours"; fi
  say "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
  rm -f "$RMQ_HOME/rabbit.pid"
  start_bg rabbitmq "$VAR/log/rabbitmq/server.out" env "${RMQ_ENV[@]}" "$RMQ_BIN/rabbitmq-server"
  if ! rabbitmqctl --timeout 90 wait "$RMQ_HOME/rabbit.pid" >/dev/null 2>&1; then
    tail -20 "$VAR/log/rabbitmq/server.out" >&2
    die "RabbitMQ did not start; its log is in var/log/rabbitmq/"
  fi
}

stop_rabbitmq() {
  pid_alive rabbitmq && rabbitmqctl stop >/dev/null 2>&1 || true
  stop_pid rabbitmq
  if [ -f "$VAR/run/epmd.ours" ]; then epmd -kill >/dev/null 2>&1 || true; rm -f "$VAR/run/epmd.ours"; fi
}

start_ferretdb() {
  if pid_alive ferretdb; then say "FerretDB already running on 127.0.0.1:$MONGO_PORT"; return 0; fi
  require_free_port "$MONGO_PORT" "FerretDB"
  mkdir -p "$VAR/ferretdb/data" "$VAR/log"
  say "starting FerretDB (SQLite backend) on 127.0.0.1:$MONGO_PORT"
  start_bg ferretdb "$VAR/log/ferretdb.log" "$VAR/bin/ferretdb" \
      --handler=sqlite --sqlite-url="file:$VAR/ferretdb/data/" --state-dir="$VAR/ferretdb" \
      --listen-addr="127.0.0.1:$MONGO_PORT" --debug-addr="127.0.0.1:$((MONGO_PORT + 1000))" \
      --telemetry=disable --log-level=warn
  for _ in $(seq 1 100); do port_open "$MONGO_PORT" && return 0; pid_alive ferretdb || break; sleep 0.2; done
  tail -20 "$VAR/log/ferretdb.log" >&2
  die "FerretDB did not start; its log is var/log/ferretdb.log"
}

case "${1:-}" in
  start) start_rabbitmq; start_ferretdb ;;
  stop) stop_pid ferretdb; stop_rabbitmq ;;
  ctl) shift; rabbitmqctl "$@" ;;
  status) for n in rabbitmq ferretdb; do pid_alive $n && echo "$n: running" || echo "$n: stopped"; done ;;
  *) die "usage: infra.sh start|stop|ctl ARGS|status" ;;
esac
