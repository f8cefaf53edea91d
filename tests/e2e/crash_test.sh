#!/usr/bin/env bash
# Crash test: gavel-server journaling with --durability=sync on a real
# PostgreSQL, a load client that records every acknowledged bid
# (crash_driver), and SIGKILL at random moments, KILLS times, the server
# restarted each time on the same data directory and port. At the end:
#  - every acknowledged bid that entered a bid log is in PostgreSQL exactly
#    once, with its bidder, amount and sequence; no unacknowledged bid is;
#  - every auction listed is settled in PostgreSQL exactly once, its hash
#    chain valid; a repeated idempotency key always got the first answer;
#  - after a clean stop, each shard's state hash logged at shutdown equals
#    the one logged after the next start's recovery.
# Prints the counts. Bounded: about 40 s for 5 kills (ctest: 150 s).
#
#   crash_test.sh BIN_DIR CONNINFO_FILE [KILLS] [SHARDS]
set -euo pipefail
BIN=$1
source "$(dirname "$0")/lib.sh"
# A schema of its own in the shared test cluster: tests that run beside this one
# (ctest -j) then never see its auctions, nor it theirs.
SCHEMA=e2e_crash_$$
BASE_CONNINFO=$(cat "$2")
CONNINFO=$("$PG_SH" schema "$BASE_CONNINFO" "$SCHEMA")
KILLS=${3:-5}
SHARDS=${4:-2}
WORK=$(mktemp -d /tmp/gavel-crash.XXXXXX)
PORT=$(free_port)
SERVER_PID=""
DRIVER_PID=""
cleanup() {
  touch "$WORK/stop" 2>/dev/null || true
  kill_if_running "$DRIVER_PID"
  kill_if_running "$SERVER_PID"
  if [ -z "${GAVEL_KEEP_WORK:-}" ]; then
    rm -rf "$WORK"
    "$PG_SH" schema "$BASE_CONNINFO" "$SCHEMA" --drop >/dev/null 2>&1 || true
  else
    echo "kept $WORK and schema $SCHEMA" >&2
  fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- server log (last 60 lines)" >&2
  tail -n 60 "$WORK/server.log" >&2 || true
  exit 1
}

{
  echo "crash-seller crash-seller seller"
  for i in 0 1 2 3 4 5 6 7; do echo "crash-bidder-$i crash-bidder-$i bidder"; done
  echo "crash-audit crash-audit auditor"
} >"$WORK/tokens"

start_server() {
  "$BIN/server/gavel-server" --listen="127.0.0.1:$PORT" --postgres="$CONNINFO" \
    --tokens="$WORK/tokens" --data_dir="$WORK/data" --shards="$SHARDS" --durability=sync \
    --journal_file_mb=1 >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_for_server "$BIN" "$PORT" crash-audit "$SERVER_PID" ||
    fail "the server exited at start or did not answer within 30 s"
}

# Random moments: 0.5 to 2.5 s apart.
pause() { sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.5 + (r % 2000) / 1000 }')"; }

start_server
"$BIN/tests/e2e/crash_driver" load "127.0.0.1:$PORT" "$WORK/acks" "$WORK/stop" 4 \
  2>"$WORK/driver.log" &
DRIVER_PID=$!
sleep 1.5
for i in $(seq 1 "$KILLS"); do
  pause
  kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  answered=$(grep -c '^BID ' "$WORK/acks" || true)
  echo "kill $i/$KILLS: SIGKILL after $answered answered bids; restarting"
  start_server
done
pause
touch "$WORK/stop"
timeout 150 tail --pid="$DRIVER_PID" -f /dev/null || fail "the load client did not stop"
wait "$DRIVER_PID" || fail "the load client failed: $(tail -n 5 "$WORK/driver.log")"
DRIVER_PID=""

recoveries=$(grep -c ': recovered ' "$WORK/server.log" || true)
torn=$(grep -c 'torn record' "$WORK/server.log" || true)
echo "server: $recoveries shard recoveries, $torn torn tail(s) discarded"
grep -q 'FATAL' "$WORK/server.log" && fail "the server logged a FATAL line"
timeout 120 "$BIN/tests/e2e/crash_driver" verify "127.0.0.1:$PORT" "$WORK/acks" 60 ||
  fail "verification failed"

# A clean stop, then a restart: the state hashes agree shard by shard.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server did not stop cleanly on SIGTERM"
SERVER_PID=""
before=$(grep ': stopped; ' "$WORK/server.log" | tail -n "$SHARDS" |
  sed -n 's/.*shard \([0-9]*\): stopped; .*state hash \([0-9a-f]*\).*/\1 \2/p' | sort)
start_server
after=$(grep ': recovered ' "$WORK/server.log" | tail -n "$SHARDS" |
  sed -n 's/.*shard \([0-9]*\): recovered .*state hash \([0-9a-f]*\);.*/\1 \2/p' | sort)
[ -n "$before" ] && [ "$before" = "$after" ] ||
  fail "state hashes differ across a clean restart: before [$before] after [$after]"
echo "state hashes equal across a clean restart:" $after
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server did not stop cleanly on SIGTERM"
SERVER_PID=""
echo "crash test: OK ($KILLS kills)"
