#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft, broker and controller in one JVM) on
# loopback for tests and local runs; idempotent: when our broker already runs, says so.
#
#   infra/kafka/start.sh          # then bootstrap servers = 127.0.0.1:9092
#   infra/kafka/stop.sh
#
# Jars come from Maven Central (infra/kafka/pom.xml) on first use; everything this creates
# lives under infra/.run/kafka: lib/ (jars), data/ (log dirs and KRaft metadata), logs/
# (server.log, jvm.log), server.properties, kafka.pid.
#
# Environment:
#   TIDINGS_KAFKA_PORT             client listener (default 9092)
#   TIDINGS_KAFKA_CONTROLLER_PORT  KRaft controller listener (default 9093)
#   TIDINGS_KAFKA_HEAP             JVM max heap (default 512m)
#   TIDINGS_KAFKA_START_TIMEOUT    seconds to wait for readiness (default 120)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"

HEAP="${TIDINGS_KAFKA_HEAP:-512m}"
START_TIMEOUT="${TIDINGS_KAFKA_START_TIMEOUT:-120}"

print_log_tail() {
    for file in "$LOG_DIR/server.log" "$LOG_DIR/jvm.log"; do
        if [[ -s "$file" ]]; then
            echo "---- last lines of $file ----" >&2
            tail -n 40 "$file" >&2
        fi
    done
}

# Waits until the broker answers a metadata request, or fails after START_TIMEOUT seconds.
wait_until_ready() {
    local pid="$1" started_at=$SECONDS
    while true; do
        if ! kill -0 "$pid" 2>/dev/null; then
            print_log_tail
            fail "the broker (pid $pid) exited during start-up; logs in $LOG_DIR"
        fi
        if port_answers "$KAFKA_PORT" && metadata_lists_our_broker; then
            log "ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid) after $((SECONDS - started_at)) s"
            return 0
        fi
        if (( SECONDS - started_at >= START_TIMEOUT )); then
            print_log_tail
            fail "the broker (pid $pid) is not ready on $KAFKA_HOST:$KAFKA_PORT after ${START_TIMEOUT} s" \
                "(TIDINGS_KAFKA_START_TIMEOUT); it is left running: see $LOG_DIR, stop it with infra/kafka/stop.sh"
        fi
        sleep 0.5
    done
}

require_java_17() {
    command -v java >/dev/null || fail "java not found: Kafka 4 needs a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
    local version major
    version="$(java -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')"
    major="${version%%.*}"
    if ! [[ "$major" =~ ^[0-9]+$ ]] || (( major < 17 )); then
        fail "java $version found, Kafka 4 needs Java 17 or newer"
    fi
}

write_server_properties() {
    cat > "$SERVER_PROPERTIES" <<PROPERTIES
# Written by infra/kafka/start.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_NODE_ID@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR

# One node: every internal topic with one replica, one in-sync replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Tests: consumer groups form at once; topics are created by the Tidings adapter.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=4

# Small machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
PROPERTIES
}

# Formats the log dirs for KRaft once; a formatted data dir is kept as it is.
format_storage() {
    if [[ -f "$DATA_DIR/meta.properties" ]]; then
        return 0
    fi
    local cluster_id
    # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding.
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    log "formatting $DATA_DIR (cluster id $cluster_id)"
    mkdir -p "$DATA_DIR"
    java -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$KAFKA_INFRA_DIR/log4j2.properties" \
        -Dkafka.logs.dir="$LOG_DIR" \
        kafka.tools.StorageTool format -t "$cluster_id" -c "$SERVER_PROPERTIES" --ignore-formatted \
        > "$LOG_DIR/format.log" 2>&1 \
        || { cat "$LOG_DIR/format.log" >&2; fail "formatting the storage in $DATA_DIR failed"; }
}

mkdir -p "$RUN_DIR" "$LOG_DIR"
# One start at a time (several test runners may call this together).
exec 9> "$RUN_DIR/start.lock"
flock 9

if pid="$(our_broker_pid)"; then
    running_listeners="$(sed -n 's/^listeners=//p' "$SERVER_PROPERTIES")"
    if [[ "$running_listeners" != *"PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,"* ]]; then
        fail "our broker (pid $pid) already runs with listeners $running_listeners;" \
            "stop it with infra/kafka/stop.sh before starting on port $KAFKA_PORT"
    fi
    log "already running (pid $pid), checking it answers on $KAFKA_HOST:$KAFKA_PORT"
    wait_until_ready "$pid"
    exit 0
fi
rm -f "$PID_FILE"
for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_answers "$port"; then
        fail "$KAFKA_HOST:$port is taken by a process this script did not start;" \
            "stop it or choose other ports with TIDINGS_KAFKA_PORT / TIDINGS_KAFKA_CONTROLLER_PORT"
    fi
done

require_java_17
fetch_jars "$KAFKA_INFRA_DIR/pom.xml" "$LIB_DIR" "kafka_2.13-*.jar"
write_server_properties
format_storage

log "starting Kafka $(basename "$LIB_DIR"/kafka_2.13-*.jar .jar | sed 's/kafka_2.13-//') on $KAFKA_HOST:$KAFKA_PORT"
# setsid: the broker outlives this shell and its terminal; its own session, so a Ctrl-C
# meant for a test run does not reach it. `9>&-`: it must not inherit (and hold) the lock.
setsid java \
    -Xmx"$HEAP" -Xms128m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_INFRA_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIB_DIR/*" \
    kafka.Kafka "$SERVER_PROPERTIES" \
    > "$LOG_DIR/jvm.log" 2>&1 < /dev/null 9>&- &
echo $! > "$PID_FILE"
wait_until_ready "$(cat "$PID_FILE")"
