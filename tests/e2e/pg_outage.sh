#!/usr/bin/env bash
# PostgreSQL outage under load: gavel-server (journaling, --durability=sync)
# on a private PostgreSQL cluster, the crash_driver load client bidding, and
# PostgreSQL stopped for 10 s in the middle (scripts/pg.sh stop, then start
# on the same pinned port). Checks:
#  - bidding never stopped: the client's answered-bid count grew during every
#    second-long window of the outage;
#  - the server, killed (SIGKILL) in the middle of the outage, starts again
#    from its journal without PostgreSQL and goes on taking bids;
#  - the server reported the outage and a non-empty outbox;
#  - after PostgreSQL is back every settlement arrives, exactly once, with
#    every acknowledged bid (crash_driver verify).
# Bounded: about 45 s (ctest: 150 s). A private cluster, so that the shared
# test cluster of the `postgres` fixture is never stopped under other tests.
#
#   pg_outage.sh BIN_DIR PG_SH
set -euo pipefail
BIN=$1
PG_SH=$2
WORK=$(mktemp -d /tmp/gavel-outage.XXXXXX)
chmod 0755 "$WORK"
PGDIR="$WORK/pg"
source "$(dirname "$0")/lib.sh"
PORT=$(free_port)
PGPORT=$(free_port)
SERVER_PID=""
DRIVER_PID=""
cleanup() {
  touch "$WORK/stop" 2>/dev/null || true
  kill_if_running "$DRIVER_PID"
  kill_if_running "$SERVER_PID"
  "$PG_SH" stop "$PGDIR" --remove >/dev/null 2>&1 || true
  if [ -z "${GAVEL_KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- server log (last 40 lines)" >&2
  tail -n 40 "$WORK/server.log" >&2 || true
  exit 1
}
answered() { grep -c '^BID ' "$WORK/acks" || true; }

CONNINFO=$("$PG_SH" start "$PGDIR" --port "$PGPORT" | tail -n 1)
{
  echo "crash-seller crash-seller seller"
  for i in 0 1 2 3; do echo "crash-bidder-$i crash-bidder-$i bidder"; done
  echo "crash-audit crash-audit auditor"
} >"$WORK/tokens"
start_server() {
  "$BIN/server/gavel-server" --listen="127.0.0.1:$PORT" --postgres="$CONNINFO" \
    --tokens="$WORK/tokens" --data_dir="$WORK/data" --shards=2 --durability=sync \
    --outbox_alarm=5 >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
}
start_server
wait_for_server "$BIN" "$PORT" crash-audit "$SERVER_PID" ||
  fail "the server exited at start or did not answer within 30 s"
"$BIN/tests/e2e/crash_driver" load "127.0.0.1:$PORT" "$WORK/acks" "$WORK/stop" 4 \
  2>"$WORK/driver.log" &
DRIVER_PID=$!
sleep 4
echo "before the outage: $(answered) bids answered"

"$PG_SH" stop "$PGDIR"
echo "PostgreSQL stopped"
stalls=0
# Counts the seconds of the outage in which no bid was answered.
watch_bids() {
  local previous now
  previous=$(answered)
  for second in $(seq "$1" "$2"); do
    sleep 1
    now=$(answered)
    echo "outage second $second: $((now - previous)) bids answered"
    [ "$now" -gt "$previous" ] || stalls=$((stalls + 1))
    previous=$now
  done
}
watch_bids 1 5
# A crash while PostgreSQL is down: the server starts again from its
# journal, without PostgreSQL, and bidding goes on.
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
start_server
wait_for_server "$BIN" "$PORT" crash-audit "$SERVER_PID" ||
  fail "the server did not start again while PostgreSQL was down"
echo "server killed and started again without PostgreSQL"
grep -q 'WARNING: connecting to PostgreSQL: .*starting from the journal' "$WORK/server.log" ||
  fail "the restart did not say that it goes on from the journal"
watch_bids 6 10
"$PG_SH" start "$PGDIR" --port "$PGPORT" >/dev/null
echo "PostgreSQL started again"
[ "$stalls" = 0 ] || fail "bidding stalled during $stalls second(s) of the outage"
grep -q 'PostgreSQL unavailable' "$WORK/server.log" || fail "the server did not report the outage"
grep -q 'outbox: [1-9][0-9]* settlement(s) wait for PostgreSQL' "$WORK/server.log" ||
  fail "the outbox depth was not logged during the outage"
grep -q 'gavel.outbox is NOT_SERVING' "$WORK/server.log" ||
  fail "health gavel.outbox did not turn NOT_SERVING"

sleep 3
touch "$WORK/stop"
timeout 150 tail --pid="$DRIVER_PID" -f /dev/null || fail "the load client did not stop"
wait "$DRIVER_PID" || fail "the load client failed: $(tail -n 5 "$WORK/driver.log")"
DRIVER_PID=""
timeout 120 "$BIN/tests/e2e/crash_driver" verify "127.0.0.1:$PORT" "$WORK/acks" 60 ||
  fail "verification failed"
grep -q 'gavel.outbox is SERVING' "$WORK/server.log" ||
  fail "health gavel.outbox did not recover"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server did not stop cleanly on SIGTERM"
SERVER_PID=""

# Auction ids after a start without PostgreSQL: a fresh data directory
# started once with PostgreSQL (which holds auctions A1..An now) and killed
# before it created anything has no numbering in its journal yet; started
# again while PostgreSQL is down, it must still number above An.
HIGHEST=$(/usr/lib/postgresql/15/bin/psql "$CONNINFO" -X -tA \
  -c "SELECT max(substr(auction_id, 2)::bigint) FROM auctions")
[ -n "$HIGHEST" ] && [ "$HIGHEST" -gt 0 ] || fail "no auction in PostgreSQL to number above"
"$BIN/server/gavel-server" --listen="127.0.0.1:$PORT" --postgres="$CONNINFO" \
  --tokens="$WORK/tokens" --data_dir="$WORK/data2" --shards=2 >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for_server "$BIN" "$PORT" crash-audit "$SERVER_PID" || fail "the server did not start on data2"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
"$PG_SH" stop "$PGDIR"
"$BIN/server/gavel-server" --listen="127.0.0.1:$PORT" --postgres="$CONNINFO" \
  --tokens="$WORK/tokens" --data_dir="$WORK/data2" --shards=2 >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for_server "$BIN" "$PORT" crash-audit "$SERVER_PID" ||
  fail "the server did not start on data2 while PostgreSQL was down"
for i in 1 2; do
  ID=$("$BIN/clients/gavel" --server "127.0.0.1:$PORT" --token crash-seller --json auction create \
    --title "after the outage $i" --currency EUR --start 1.00 --duration 1m |
    sed -n 's/.*"auctionId": *"A\([0-9]*\)".*/\1/p' | head -n 1)
  [ -n "$ID" ] || fail "auction create printed no id"
  [ "$ID" -gt "$HIGHEST" ] || fail "new auction A$ID reuses an id PostgreSQL holds (highest A$HIGHEST)"
done
echo "new auctions numbered above A$HIGHEST with PostgreSQL down"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server did not stop cleanly on SIGTERM"
SERVER_PID=""
echo "pg outage: OK"
