#!/usr/bin/env bash
# End to end: the `gavel` CLI against a real gavel-server and a real
# PostgreSQL (the ctest `postgres` fixture). seller -> bids -> close ->
# `gavel audit show` shows the right winner and price.
#   cli_e2e.sh BIN_DIR CONNINFO_FILE
set -euo pipefail
BIN=$1
source "$(dirname "$0")/lib.sh"
# A schema of its own in the shared test cluster: tests that run beside this one
# (ctest -j) then never see its auctions, nor it theirs.
SCHEMA=e2e_cli_$$
BASE_CONNINFO=$(cat "$2")
CONNINFO=$("$PG_SH" schema "$BASE_CONNINFO" "$SCHEMA")
WORK=$(mktemp -d)
PORT=$(free_port)
SERVER_PID=""
cleanup() {
  kill_if_running "$SERVER_PID"
  rm -rf "$WORK"
  "$PG_SH" schema "$BASE_CONNINFO" "$SCHEMA" --drop >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log" >&2; cat "$WORK/server.log" >&2 || true; exit 1; }

cat > "$WORK/tokens" <<TOKENS
e2e-seller alice seller
e2e-alice-bids alice bidder
e2e-bob bob bidder
e2e-carol carol bidder
e2e-audit audrey auditor
TOKENS

"$BIN/server/gavel-server" --listen="127.0.0.1:$PORT" --postgres="$CONNINFO" \
  --tokens="$WORK/tokens" --data_dir="$WORK/data" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
gavel() { "$BIN/clients/gavel" --server "127.0.0.1:$PORT" "$@"; }
wait_for_server "$BIN" "$PORT" e2e-audit "$SERVER_PID" ||
  fail "the server exited at start or did not answer within 30 s"

# Each run has its own request id as well.
RUN=$RANDOM$RANDOM
AUCTION=$(gavel --token e2e-seller --json auction create --title "E2E teapot $RUN" \
  --currency EUR --start 10.00 --reserve 20.00 --duration 3s --request-id "e2e-$RUN" |
  sed -n 's/.*"auctionId": *"\([^"]*\)".*/\1/p')
[ -n "$AUCTION" ] || fail "auction create printed no auction id"
echo "created $AUCTION"

out=$(gavel --token e2e-bob bid "$AUCTION" 30.00) || fail "bob's bid failed: $out"
echo "$out"
echo "$out" | grep -q "ACCEPTED" || fail "bob's bid was not accepted: $out"
out=$(gavel --token e2e-carol bid "$AUCTION" 25.00) || fail "carol's bid failed: $out"
echo "$out"
set +e
out=$(gavel --token e2e-carol bid "$AUCTION" 15.00 2>&1); code=$?
set -e
[ "$code" = 3 ] || fail "a low bid should exit 3, got $code: $out"
echo "$out" | grep -q "BID_TOO_LOW" || fail "low bid: $out"
set +e
out=$(gavel --token e2e-alice-bids bid "$AUCTION" 50.00 2>&1); code=$?
set -e
[ "$code" = 3 ] || fail "a self bid should exit 3, got $code: $out"
echo "$out" | grep -q "SELF_BID" || fail "self bid: $out"
set +e
out=$(gavel --token e2e-audit bid "$AUCTION" 50.00 2>&1); code=$?
set -e
echo "$out" | grep -q "PERMISSION_DENIED" || fail "auditor bidding: $out"

# Watch from the start: the stream ends by itself after the close.
timeout 30 "$BIN/clients/gavel" --server "127.0.0.1:$PORT" --token e2e-carol watch "$AUCTION" --from 1 \
  >"$WORK/watch.txt" || fail "watch did not end cleanly: $(cat "$WORK/watch.txt")"
cat "$WORK/watch.txt"
grep -qi "closed" "$WORK/watch.txt" || fail "watch did not show the close"

# The settlement reaches PostgreSQL shortly after the close.
for _ in $(seq 1 100); do
  gavel --token e2e-audit audit show "$AUCTION" >"$WORK/show.txt" 2>&1 && break
  sleep 0.1
done
cat "$WORK/show.txt"
gavel --token e2e-audit --json audit show "$AUCTION" >"$WORK/show.json" || fail "audit show --json"
grep -q '"outcome": *"SOLD"' "$WORK/show.json" || fail "outcome is not SOLD"
grep -q '"bidderId": *"bob"' "$WORK/show.json" || fail "bob is not the winner"
# Proxy: carol's 25.00 is beaten by bob's maximum at 25.00 + 1.00.
grep -q '"priceMinor": *"2600"' "$WORK/show.json" || fail "price is not 26.00 EUR"
grep -q "26.00 EUR" "$WORK/show.txt" || fail "human output does not show 26.00 EUR"
gavel --token e2e-audit audit verify "$AUCTION" || fail "hash chain does not verify"
gavel --token e2e-audit audit list --seller alice | grep -q "$AUCTION" || fail "audit list misses $AUCTION"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server did not stop cleanly on SIGTERM"
SERVER_PID=""
grep -q "stopped cleanly" "$WORK/server.log" || fail "no clean stop in the log"
echo "e2e: OK"
