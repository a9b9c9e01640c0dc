#!/usr/bin/env bash
# Stops the Cassandra that infra/cassandra/start.sh started (found by its pid file):
# SIGTERM, then SIGKILL after TIDINGS_CQL_STOP_TIMEOUT seconds (default 60). Data stays in
# infra/.run/cassandra/data; remove that folder for a fresh node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"

stop_timeout="${TIDINGS_CQL_STOP_TIMEOUT:-60}"

if ! pid="$(running_pid)"; then
  rm -f "$PID_FILE"
  echo "cassandra is not running"
  exit 0
fi

echo "stopping cassandra (pid $pid)"
kill -TERM "$pid"
deadline=$(($(date +%s) + stop_timeout))
while kill -0 "$pid" 2>/dev/null; do
  if (($(date +%s) >= deadline)); then
    echo "cassandra (pid $pid) still running after $stop_timeout s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
rm -f "$PID_FILE"
echo "cassandra stopped"
