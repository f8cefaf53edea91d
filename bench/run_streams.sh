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
# At most 5000 streams a scenario: gavel-load takes every bidder's token on
# its command line. A build whose server has --max_bid_streams runs with
# --max_bid_streams=0 (no cap), so that the cap is not what is measured.
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
  if ! [[ "$streams" =~ ^[0-9]+$ && "${scenario#*x}" =~ ^[0-9]+$ && "$streams" -ge 1 &&
    "$streams" -le 5000 ]]; then
    echo "run_streams: a scenario is STREAMSxWINDOW with 1 to 5000 streams, e.g. 2000x16; got '$scenario'" >&2
    exit 2
  fi
  ((streams > MOST_STREAMS)) && MOST_STREAMS=$streams
done

WORK=$(mktemp -d /tmp/gavel-streams.XXXXXX)
SERVER_PID=""
trap 'cleanup_work "$WORK" "$SERVER_PID"' EXIT
trap 'exit 130' INT TERM

CONNINFO=$(start_pg "$WORK")
make_tokens "$WORK/tokens" "$MOST_STREAMS"

echo "gavel BidStream streams on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
printf '%-40s %8s %7s %10s %10s %10s %7s %10s\n' build streams window answers/s p50_us p99_us errors peak_rss
run=0
for round in $(seq 1 "$ROUNDS"); do
  for build in "${BUILDS[@]}"; do
    for scenario in "${SCENARIOS[@]}"; do
      streams=${scenario%x*}
      window=${scenario#*x}
      run=$((run + 1))
      server_flags=(--listen=127.0.0.1:0 --postgres="$CONNINFO" --tokens="$WORK/tokens"
        --data_dir="$WORK/data-$run" --shards=2)
      help=$("$build/server/gavel-server" --helpfull 2>&1 || true)
      [[ "$help" == *-max_bid_streams* ]] && server_flags+=(--max_bid_streams=0)
      "$build/server/gavel-server" "${server_flags[@]}" 2>"$WORK/server-$run.log" >/dev/null \
        </dev/null &
      SERVER_PID=$!
      port=$(wait_port "$WORK/server-$run.log")
      out=$(timeout $((DURATION + 60)) "$build/bench/gavel-load" --server="127.0.0.1:$port" \
        --seller_token=seller-token --bidder_tokens="$(seq -s, -f 'bidder-token-%g' 1 "$streams")" \
        --create_auctions=100 --mode=stream --bidders="$streams" --window="$window" \
        --duration="${DURATION}s" 2>"$WORK/load-$run.log") || true
      rss=$(awk '/^VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER_PID/status" 2>/dev/null ||
        echo "gone")
      stop_pid "$SERVER_PID"
      SERVER_PID=""
      result=$(echo "$out" | grep '^RESULT ' || true)
      if [[ -z "$result" ]]; then
        echo "run_streams: $build, $scenario: no result; the end of gavel-load's and the server's logs:" >&2
        tail -n 5 "$WORK/load-$run.log" "$WORK/server-$run.log" >&2
      fi
      field() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
      printf '%-40s %8s %7s %10s %10s %10s %7s %10s\n' "$build" "$streams" "$window" \
        "$(field throughput)" "$(field p50_us)" "$(field p99_us)" "$(field errors)" "$rss"
    done
  done
done
