#!/usr/bin/env bash
# Single-node Kafka (KRaft) for development and tests.
# Usage: scripts/kafka.sh fetch|start|stop|restart|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.kafka"
LIBS="$STATE/libs"
POM="$ROOT/scripts/kafka/pom.xml"
PID_FILE="$STATE/kafka.pid"
DATA_FILE="$STATE/data.dir"
LOG_FILE="$STATE/kafka.log"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"

log() { echo "kafka.sh: $*" >&2; }

elapsed() {
  local ms=$(($(date +%s%3N) - $1))
  printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100))
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    ps -o args= -p "$pid" | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

# The address the running broker listens on, from its configuration.
address() {
  sed -n 's|^advertised.listeners=PLAINTEXT://||p' "$(cat "$DATA_FILE" 2>/dev/null)/server.properties" 2>/dev/null
}

# Runs a Kafka command-line class with quiet logging.
kafka_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$STATE/tools-log4j.properties" \
    -cp "$LIBS/*" "$@"
}

cmd_fetch() {
  command -v java >/dev/null || { log "java not found (need Java 17+)"; exit 1; }
  command -v mvn >/dev/null || { log "mvn not found (need Maven)"; exit 1; }
  local stamp
  stamp="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$LIBS/.stamp" && "$(cat "$LIBS/.stamp")" == "$stamp" ]]; then
    log "already fetched ($LIBS)"
    return
  fi
  log "fetching Kafka jars with Maven into $LIBS"
  mkdir -p "$STATE"
  local tmp="$STATE/libs.tmp"
  rm -rf "$tmp"
  if ! mvn -B -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$STATE/maven.log" 2>&1; then
    tail -n 40 "$STATE/maven.log" >&2
    log "Maven failed; full log: $STATE/maven.log"
    exit 1
  fi
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars"
}

write_configs() {
  local data="$1"
  cat >"$STATE/tools-log4j.properties" <<'EOF'
log4j.rootLogger=ERROR, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  cat >"$data/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/logs
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=500
num.network.threads=2
num.io.threads=4
background.threads=4
EOF
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, $(address))"
    return
  fi
  [[ -f "$LIBS/.stamp" ]] || { log "jars missing: run '$0 fetch' first"; exit 1; }
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    log "port $PORT is already in use by another process"
    exit 1
  fi
  cleanup_state
  local began data cluster_id
  began=$(date +%s%3N)
  data="$(mktemp -d "$STATE/data-XXXXXX")"
  echo "$data" >"$DATA_FILE"
  write_configs "$data"
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid)"
  kafka_tool kafka.tools.StorageTool format --ignore-formatted \
    --config "$data/server.properties" --cluster-id="$cluster_id" >/dev/null
  : >"$LOG_FILE"
  launch "$data"
  log "started (pid $pid) on 127.0.0.1:$PORT in $(elapsed "$began")s; log: $LOG_FILE"
}

# Starts the broker on the formatted data dir $1 and waits until it answers; sets pid.
launch() {
  local data="$1"
  # shellcheck disable=SC2086
  nohup java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$data/log4j.properties" -Dkafka.logs.dir="$data" \
    -cp "$LIBS/*" kafka.Kafka "$data/server.properties" >>"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null &&
    kafka_tool kafka.admin.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$PORT" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during start-up:"
      show_errors
      cleanup_state
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "broker not ready after ${START_TIMEOUT}s:"
      show_errors
      cmd_stop
      exit 1
    fi
    sleep 0.5
  done
}

# Stops the broker and starts it again on the same data: topics, offsets and messages survive.
cmd_restart() {
  local pid began data
  pid="$(running_pid)" || { log "not running"; exit 1; }
  data="$(cat "$DATA_FILE")"
  began=$(date +%s%3N)
  terminate "$pid"
  launch "$data"
  log "restarted (pid $pid) on 127.0.0.1:$PORT in $(elapsed "$began")s"
}

show_errors() {
  { grep -E '\] (ERROR|FATAL) |^Caused by' "$LOG_FILE" || tail -n 20 "$LOG_FILE"; } | tail -n 8 >&2
  log "full log: $LOG_FILE"
}

cleanup_state() {
  if [[ -f "$DATA_FILE" ]]; then
    rm -rf "$(cat "$DATA_FILE")"
    rm -f "$DATA_FILE"
  fi
  rm -f "$PID_FILE"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    cleanup_state
    return
  fi
  terminate "$pid"
  cleanup_state
  log "stopped (pid $pid)"
}

# Stops broker process $1: SIGTERM, then SIGKILL after 30 s.
terminate() {
  kill -TERM "$1"
  local deadline=$((SECONDS + 30))
  while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$1" 2>/dev/null; then
    log "broker did not stop in 30s; killing"
    kill -KILL "$1" 2>/dev/null || true
    sleep 0.5
  fi
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "kafka: running (pid $pid, $(address), data $(cat "$DATA_FILE"))"
  else
    echo "kafka: not running"
    return 1
  fi
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_restart ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 fetch|start|stop|restart|status" >&2
    exit 2
    ;;
esac
