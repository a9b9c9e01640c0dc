# Shared by infra/kafka/start.sh and stop.sh: paths, ports and process checks.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file

KAFKA_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KAFKA_INFRA_DIR/../.." && pwd)"
RUN_DIR="$REPO_ROOT/infra/.run/kafka"
LIB_DIR="$RUN_DIR/lib"
TOOLS_LIB_DIR="$RUN_DIR/tools-lib"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
PID_FILE="$RUN_DIR/kafka.pid"
SERVER_PROPERTIES="$RUN_DIR/server.properties"

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${TIDINGS_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${TIDINGS_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_NODE_ID=1

log() { echo "kafka: $*"; }
fail() { echo "kafka: error: $*" >&2; exit 1; }

# The pid from the pid file when that process is our broker (java running kafka.Kafka with
# our server.properties), else nothing.
our_broker_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    local cmdline
    cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline")"
    [[ "$cmdline" == *kafka.Kafka*"$SERVER_PROPERTIES"* ]] || return 1
    echo "$pid"
}

port_answers() {
    timeout 2 bash -c ": < /dev/tcp/$KAFKA_HOST/$1" 2>/dev/null
}

# True when the broker answers a Metadata request (v4, no topics) listing itself among the
# brokers: KRaft lists only unfenced brokers, so the broker is really serving.
metadata_lists_our_broker() {
    local reply
    # size 28 | api key 3 (Metadata) | version 4 | correlation id 1 | client id "tidings-start"
    # | topics: empty array | allow_auto_topic_creation: false
    # shellcheck disable=SC2016 # expanded by the inner shell
    reply="$(timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "\x00\x00\x00\x1c\x00\x03\x00\x04\x00\x00\x00\x01\x00\x0dtidings-start\x00\x00\x00\x00\x00" >&3
        head -c 20 <&3 | od -An -tx1 -v
    ' "$KAFKA_HOST" "$KAFKA_PORT" 2>/dev/null)" || return 1
    reply="$(tr -d ' \n' <<< "$reply")"
    # size (4 bytes) | correlation id | throttle time | broker count | first broker's node id
    [[ ${#reply} -eq 40 ]] || return 1
    [[ "${reply:8:8}" == 00000001 ]] || return 1
    (( 16#${reply:24:8} >= 1 )) || return 1
    (( 16#${reply:32:8} == KAFKA_NODE_ID ))
}

# Copies the jars pinned by pom $1 into $2, unless $2 already holds them for this pom;
# checks that a jar matching $3 came.
fetch_jars() {
    local pom="$1" dest="$2" expected="$3" pom_hash
    pom_hash="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [[ -f "$dest/.pom.sha256" && "$(cat "$dest/.pom.sha256")" == "$pom_hash" ]]; then
        return 0
    fi
    command -v mvn >/dev/null || fail "mvn not found: it fetches the Kafka jars from Maven Central (e.g. apt-get install maven)"
    log "fetching the jars of $pom from Maven Central into $dest"
    rm -rf "$dest.partial"
    if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dest.partial" >&2; then
        rm -rf "$dest.partial"
        fail "fetching the jars with mvn failed (see above): is Maven Central reachable?"
    fi
    # shellcheck disable=SC2086 # $expected is a glob
    compgen -G "$dest.partial/"$expected >/dev/null || fail "mvn succeeded but no $expected in $dest.partial"
    echo "$pom_hash" > "$dest.partial/.pom.sha256"
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
}
