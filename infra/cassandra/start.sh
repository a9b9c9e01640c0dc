#!/usr/bin/env bash
# Starts a single-node Apache Cassandra 5.0 (the CQL server of the tests) on loopback,
# from Maven Central jars, without Docker and without Cassandra's own launcher.
#
# Idempotent: when this checkout's Cassandra already answers on the CQL port, it says so
# and exits 0. Everything it creates lives under infra/.run/cassandra/ (git-ignored):
#   lib/        the jars (mvn dependency:copy-dependencies of infra/cassandra/pom.xml)
#   conf/       cassandra.yaml and logback.xml, written on every start
#   data/       data, commit log, hints, saved caches (kept across restarts)
#   logs/       system.log (Cassandra's log) and output.log (the JVM's stdout/stderr)
#   cassandra.pid
#
# Environment:
#   TIDINGS_CQL_PORT          CQL (native transport) port, default 9042
#   TIDINGS_CQL_STORAGE_PORT  internode port, default 7000
#   TIDINGS_CQL_HEAP          heap size, default 2g (every test makes a keyspace and keeps it,
#                             and Cassandra's heap grows with its tables: 1g ran out after
#                             three test runs on one node)
#   TIDINGS_CQL_START_TIMEOUT seconds to wait for CQL to answer, default 180
#
# Stop it with infra/cassandra/stop.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"

cql_port="${TIDINGS_CQL_PORT:-9042}"
storage_port="${TIDINGS_CQL_STORAGE_PORT:-7000}"
heap="${TIDINGS_CQL_HEAP:-2g}"
start_timeout="${TIDINGS_CQL_START_TIMEOUT:-180}"

if cql_answers "$cql_port"; then
  if pid="$(running_pid)"; then
    echo "cassandra already running (pid $pid), CQL answers on 127.0.0.1:$cql_port"
    exit 0
  fi
  die "something not started by this script answers CQL on 127.0.0.1:$cql_port;" \
    "stop it or choose another port with TIDINGS_CQL_PORT"
fi
if pid="$(running_pid)"; then
  running_port="$(sed -n 's/^native_transport_port: *//p' "$CONF_DIR/cassandra.yaml" 2>/dev/null)"
  if [[ -n "$running_port" && "$running_port" != "$cql_port" ]]; then
    die "this checkout's cassandra (pid $pid) already runs on CQL port $running_port; stop it first" \
      "(infra/cassandra/stop.sh) to start it on $cql_port"
  fi
  # Ours, but not (or not yet) answering: maybe still starting.
  echo "cassandra (pid $pid) is running but CQL does not answer on 127.0.0.1:$cql_port yet; waiting"
  wait_until_ready "$pid" "$cql_port" "$start_timeout"
  exit 0
fi
if port_open "$cql_port"; then
  die "127.0.0.1:$cql_port is taken by a process that does not speak CQL; choose another port with TIDINGS_CQL_PORT"
fi
if port_open "$storage_port"; then
  die "the internode port 127.0.0.1:$storage_port is taken; choose another with TIDINGS_CQL_STORAGE_PORT"
fi

command -v java >/dev/null 2>&1 || die "java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
java_major="${java_major#1.}"
java_major="${java_major%%.*}"
if ! [[ "$java_major" =~ ^[0-9]+$ ]] || ((java_major < 11 || java_major > 17)); then
  # Cassandra 5.0 supports Java 11 and 17; these flags are Java 17's.
  echo "warning: java ${java_major:-of unknown version} found; Cassandra 5.0 is run here with Java 17" >&2
fi

fetch_jars

jamm_jar="$(find "$LIB_DIR" -maxdepth 1 -name 'jamm-*.jar' | head -n 1)"
[[ -n "$jamm_jar" ]] || die "no jamm jar in $LIB_DIR: remove that folder and run again"

mkdir -p "$CONF_DIR" "$LOG_DIR" "$RUN_DIR/triggers" "$DATA_DIR"/{data,commitlog,saved_caches,hints,cdc_raw}

cat >"$CONF_DIR/cassandra.yaml" <<YAML
# Written by infra/cassandra/start.sh on every start; edit the script, not this file.
# A single node on loopback, sized for a small shared machine.
cluster_name: tidings-test
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$storage_port"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $storage_port
start_native_transport: true
native_transport_port: $cql_port
data_file_directories:
  - $DATA_DIR/data
commitlog_directory: $DATA_DIR/commitlog
saved_caches_directory: $DATA_DIR/saved_caches
hints_directory: $DATA_DIR/hints
cdc_raw_directory: $DATA_DIR/cdc_raw
# Acknowledge a write only once it is on disk: the store's contract is durability before
# Ok, and on one node there is no other replica to hold it.
commitlog_sync: batch
auto_snapshot: false
snapshot_before_compaction: false
concurrent_reads: 4
concurrent_writes: 4
concurrent_counter_writes: 2
concurrent_materialized_view_writes: 2
concurrent_compactors: 1
memtable_flush_writers: 1
native_transport_max_threads: 16
# Every test prepares its statements against a keyspace of its own (the CQL statements name
# their keyspace), thousands in one run of the suite: the default cache (10 MiB on this
# heap) evicts them faster than the driver's automatic re-prepare can win the race.
prepared_statements_cache_size: 128MiB
# Batches that span a few mailboxes of one projected record are normal here.
batch_size_warn_threshold: 64KiB
batch_size_fail_threshold: 1024KiB
YAML

cat >"$CONF_DIR/logback.xml" <<XML
<!-- Written by infra/cassandra/start.sh on every start. -->
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$LOG_DIR/system.log</file>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE"/>
  </root>
</configuration>
XML

# The module flags are the --add-exports/--add-opens list of Cassandra 5.0's
# conf/jvm17-server.options; without them the JVM dies at start on Java 17.
jvm_options=(
  "-Xms$heap" "-Xmx$heap" -Xss256k
  -XX:+UseG1GC -XX:ParallelGCThreads=2 -XX:ConcGCThreads=1 -XX:+ParallelRefProcEnabled
  -XX:MaxTenuringThreshold=1 -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
  "-javaagent:$jamm_jar"
  -Djdk.attach.allowAttachSelf=true
  -Dio.netty.tryReflectionSetAccessible=true
  -Dio.netty.allocator.useCacheForAllThreads=true
  -Dio.netty.allocator.maxOrder=11
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED
  --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED
  --add-opens java.base/java.nio.charset=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
  --add-opens java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
  "-Dcassandra.config=file://$CONF_DIR/cassandra.yaml"
  -Dcassandra-foreground=yes
  "-Dcassandra.storagedir=$DATA_DIR"
  "-Dcassandra.logdir=$LOG_DIR"
  "-Dlogback.configurationFile=$CONF_DIR/logback.xml"
  "-Dcassandra.triggers_dir=$RUN_DIR/triggers"
  -Dcassandra.skip_wait_for_gossip_to_settle=0
  -Dcassandra.initial_token=0
  -Dcassandra.available_processors=2
  -Djava.net.preferIPv4Stack=true
)

echo "starting cassandra $(cassandra_version) on 127.0.0.1:$cql_port (heap $heap, logs in $LOG_DIR)"
started_at="$(date +%s)"
# Its own session, so it outlives this shell and a Ctrl-C of it.
setsid java "${jvm_options[@]}" -cp "$LIB_DIR/*" org.apache.cassandra.service.CassandraDaemon \
  >"$LOG_DIR/output.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"

wait_until_ready "$pid" "$cql_port" "$start_timeout"
echo "cassandra is up after $(($(date +%s) - started_at)) s (pid $pid); stop it with infra/cassandra/stop.sh"
