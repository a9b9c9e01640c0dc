#!/usr/bin/env bash
# Stops the broker started by infra/kafka/start.sh (the process in its pid file), waiting
# for a clean shutdown; idempotent.
#
#   infra/kafka/stop.sh           # keeps topics and offsets for the next start
#   infra/kafka/stop.sh --wipe    # then deletes the data (every topic, every group)
#
# TIDINGS_KAFKA_STOP_TIMEOUT: seconds before SIGKILL (default 60).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"

STOP_TIMEOUT="${TIDINGS_KAFKA_STOP_TIMEOUT:-60}"
wipe=false
case "${1:-}" in
    "") ;;
    --wipe) wipe=true ;;
    *) fail "usage: $0 [--wipe]" ;;
esac

if pid="$(our_broker_pid)"; then
    log "stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    started_at=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS - started_at >= STOP_TIMEOUT )); then
            log "still running after ${STOP_TIMEOUT} s, killing (pid $pid)"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    log "stopped after $((SECONDS - started_at)) s"
else
    log "not running"
fi
rm -f "$PID_FILE"
if $wipe; then
    rm -rf "$DATA_DIR"
    log "deleted $DATA_DIR"
fi
