#!/usr/bin/env bash
# What many BidStream streams cost Gavel end to end: for each build given,
# and each scenario "STREAMSxWINDOW", a fresh gavel-server (2 shards, a
# private PostgreSQL) under gavel-load's closed-loop BidStream mode for
# DURATION seconds over 100 auctions; prints the answers per second, the
# latency and the server's peak RSS (VmHWM). With two builds (old and new)
# and ROUNDS > 1 the runs interleave, old then new, round after round.
# Everything started is stopped on exit; about 15 s per run.
#
#   bench/run_streams.sh [BUILD_DIR...]     default: build/h-bench
#
# Environment: SCENARIOS ("2000x16 4x64"), ROUNDS (1), DURATION (5).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILDS=("$@")
[[ ${#BUILDS[@]} -eq 0 ]] && BUILDS=("$ROOT/build/h-bench")
read -r -a SCENARIOS <<<"${SCENARIOS:-2000x16 4x64}"
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-5}

# shellcheck source=bench/e2e_common.sh
source "$ROOT/bench/e2e_common.sh"
for build in "${BUILDS[@]}"; do
  require_binaries run_streams "$build" "$build/server/gavel-server" "$build/bench/gavel-load"
done
MOST_STREAMS=1
for scenario in "${SCENARIOS[@]}"; do
  streams=${scenario%x*}
  if ! [[ "$streams" =~ ^[0-9]+$ && "${scenario#*x}" =~ ^[0-9]+$ && "$streams" -ge 1 ]]; then
    echo "run_streams: a scenario is STREAMSxWINDOW, e.g. 2000x16; got '$scenario'" >&2
    exit 2
  fi
  ((streams > MOST_STREAMS)) && MOST_STREAMS=$streams
done

WORK=$(mktemp -d /tmp/gavel-streams.XXXXXX)
SERVER_PID=""
cleanup() {
  stop_pid "$SERVER_PID"
  "$ROOT/scripts/pg.sh" stop "$WORK/pg" --remove >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CONNINFO=$(timeout 60 "$ROOT/scripts/pg.sh" start "$WORK/pg" --fast | tail -n 1)
{
  echo "seller-token seller1 seller"
  for i in $(seq 1 "$MOST_STREAMS"); do echo "bidder-token-$i bidder$i bidder"; done
} >"$WORK/tokens"

echo "gavel BidStream streams on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
printf '%-40s %8s %7s %10s %10s %10s %7s %10s\n' build streams window answers/s p50_us p99_us errors peak_rss
run=0
for round in $(seq 1 "$ROUNDS"); do
  for build in "${BUILDS[@]}"; do
    for scenario in "${SCENARIOS[@]}"; do
      streams=${scenario%x*}
      window=${scenario#*x}
      run=$((run + 1))
      "$build/server/gavel-server" --listen=127.0.0.1:0 --postgres="$CONNINFO" \
        --tokens="$WORK/tokens" --data_dir="$WORK/data-$run" --shards=2 \
        2>"$WORK/server-$run.log" >/dev/null </dev/null &
      SERVER_PID=$!
      port=$(wait_port "$WORK/server-$run.log")
      out=$(timeout $((DURATION + 60)) "$build/bench/gavel-load" --server="127.0.0.1:$port" \
        --seller_token=seller-token --bidder_tokens="$(seq -s, -f 'bidder-token-%g' 1 "$streams")" \
        --create_auctions=100 --mode=stream --bidders="$streams" --window="$window" \
        --duration="${DURATION}s" 2>>"$WORK/load.log")
      rss=$(awk '/^VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER_PID/status")
      stop_pid "$SERVER_PID"
      SERVER_PID=""
      result=$(echo "$out" | grep '^RESULT ')
      field() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
      printf '%-40s %8s %7s %10s %10s %10s %7s %10s\n' "$build" "$streams" "$window" \
        "$(field throughput)" "$(field p50_us)" "$(field p99_us)" "$(field errors)" "$rss"
    done
  done
done
