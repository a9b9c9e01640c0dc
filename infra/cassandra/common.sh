# shellcheck shell=bash disable=SC2034
# Shared by start.sh and stop.sh: paths and small helpers. Sourced, not run.

CASSANDRA_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN_DIR="$(cd "$CASSANDRA_INFRA_DIR/.." && pwd)/.run/cassandra"
LIB_DIR="$RUN_DIR/lib"
CONF_DIR="$RUN_DIR/conf"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
PID_FILE="$RUN_DIR/cassandra.pid"

die() {
  echo "error: $*" >&2
  exit 1
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Whether a CQL server answers on 127.0.0.1:$1: sends a protocol-v4 OPTIONS frame and
# expects a SUPPORTED frame back (version byte 0x84, opcode 0x06). Needs only bash and
# coreutils; the native transport opens last in Cassandra's start-up, so this means ready.
cql_answers() {
  # shellcheck disable=SC2016 # the inner script expands its own "$1"
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x04\x00\x00\x00\x05\x00\x00\x00\x00" >&3
    header="$(head -c 9 <&3 | od -An -tx1 | tr -d " \n")"
    [[ "$header" == 8400000006* ]]
  ' _ "$1" 2>/dev/null
}

# Prints the pid of this checkout's Cassandra and succeeds, if it is running.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *org.apache.cassandra.service.CassandraDaemon* && "$cmdline" == *"$CONF_DIR/cassandra.yaml"* ]] ||
    return 1
  echo "$pid"
}

log_tail() {
  echo "---- last lines of $LOG_DIR/system.log ----" >&2
  tail -n 40 "$LOG_DIR/system.log" 2>/dev/null >&2 || echo "(no system.log)" >&2
  echo "---- last lines of $LOG_DIR/output.log ----" >&2
  tail -n 20 "$LOG_DIR/output.log" 2>/dev/null >&2 || echo "(no output.log)" >&2
}

# Waits until process $1 answers CQL on port $2, for at most $3 seconds.
wait_until_ready() {
  local pid=$1 port=$2 timeout_s=$3
  local deadline=$(($(date +%s) + timeout_s))
  until cql_answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail
      rm -f "$PID_FILE"
      die "cassandra (pid $pid) exited during start-up; see the logs above"
    fi
    if (($(date +%s) >= deadline)); then
      log_tail
      die "cassandra (pid $pid) did not answer CQL on 127.0.0.1:$port within $timeout_s s;" \
        "it is left running (wait longer with TIDINGS_CQL_START_TIMEOUT, or stop it with infra/cassandra/stop.sh)"
    fi
    sleep 1
  done
}

# The pom's checksum: the jars are fetched again when the pom changes.
pom_digest() {
  sha256sum "$CASSANDRA_INFRA_DIR/pom.xml" | cut -d' ' -f1
}

# Fetches the jars into $LIB_DIR unless the pom's jars are already there.
fetch_jars() {
  local marker="$LIB_DIR/.fetched"
  if [[ -f "$marker" && "$(cat "$marker")" == "$(pom_digest)" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (apt-get install maven) to fetch the Cassandra jars"
  echo "fetching the cassandra jars into $LIB_DIR (mvn dependency:copy-dependencies)"
  local staging="$RUN_DIR/lib.partial"
  rm -rf "$staging"
  mkdir -p "$RUN_DIR"
  if ! mvn -B -q -Dstyle.color=never -f "$CASSANDRA_INFRA_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$staging" >"$RUN_DIR/mvn.log" 2>&1; then
    tail -n 30 "$RUN_DIR/mvn.log" >&2
    die "fetching the cassandra jars failed (full output in $RUN_DIR/mvn.log)"
  fi
  compgen -G "$staging/cassandra-all-*.jar" >/dev/null || die "mvn ran but no cassandra-all jar arrived in $staging"
  rm -rf "$LIB_DIR"
  mv "$staging" "$LIB_DIR"
  pom_digest >"$marker"
}

cassandra_version() {
  local jar
  jar="$(basename "$(find "$LIB_DIR" -maxdepth 1 -name 'cassandra-all-*.jar' | head -n 1)" .jar)"
  echo "${jar#cassandra-all-}"
}
