#!/usr/bin/env bash
# End-to-end benchmark of Gavel's bid path over real gRPC on this machine:
# a private PostgreSQL, gavel-server (--shards=$SHARDS) with a generated
# tokens file, and bench/grpc_baseline (the same BidderService with canned
# answers: what gRPC alone reaches here). gavel-load drives both, the same
# way, in this order:
#   1. closed loop, unary PlaceBid and BidStream, Gavel then baseline
#      (the saturated rates);
#   2. open loop at half of each saturated rate (the latency at half load).
# Then a summary table, with each server's CPU per answer (from
# /proc/PID/stat) beside the client's. Everything started here is stopped on
# exit (trap), and every step is bounded: about 2 minutes with the defaults.
#
#   bench/run_e2e.sh [BUILD_DIR]          default BUILD_DIR: build/h-bench
#
# Environment: SHARDS (2), DURATION seconds measured per run (8), WARMUP
# seconds (1), AUCTIONS (1000), UNARY_BIDDERS (64), STREAMS (4), WINDOW (64),
# CHANNELS (2), CQ_THREADS (2), DURABILITY (unset: the server's default;
# else passed as --durability=...), SHARD_SPIN (unset: the server's default;
# else --shard_spin=..., e.g. 0s or 50us), BASELINE_API (callback, the
# default, as gavel-server; or cq: the baseline's PlaceBid on the
# completion-queue API, to compare the two APIs) and BASELINE_CQ_THREADS (2:
# its completion queues, a thread each, with BASELINE_API=cq).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/h-bench}
SHARDS=${SHARDS:-2}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-1}
AUCTIONS=${AUCTIONS:-1000}
UNARY_BIDDERS=${UNARY_BIDDERS:-64}
STREAMS=${STREAMS:-4}
WINDOW=${WINDOW:-64}
CHANNELS=${CHANNELS:-2}
CQ_THREADS=${CQ_THREADS:-2}
DURABILITY=${DURABILITY:-}
SHARD_SPIN=${SHARD_SPIN:-}
BASELINE_API=${BASELINE_API:-callback}
BASELINE_CQ_THREADS=${BASELINE_CQ_THREADS:-2}

SERVER_BIN="$BUILD/server/gavel-server"
LOAD_BIN="$BUILD/bench/gavel-load"
BASE_BIN="$BUILD/bench/grpc_baseline"

# shellcheck source=bench/e2e_common.sh
source "$ROOT/bench/e2e_common.sh"
require_binaries run_e2e "$BUILD" "$SERVER_BIN" "$LOAD_BIN" "$BASE_BIN"

WORK=$(mktemp -d /tmp/gavel-e2e.XXXXXX)
SERVER_PID=""
BASE_PID=""

trap 'cleanup_work "$WORK" "$SERVER_PID" "$BASE_PID"' EXIT
trap 'exit 130' INT TERM

log() { echo "run_e2e: $*" >&2; }

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Context switches of every live thread of process $1 (threads that ended
# meanwhile are not counted: an underestimate when a pool shrinks).
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n + 0}'; }
# Busy ticks of the whole machine (every process, other tenants included).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# ---------------------------------------------------------------- start
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
CONNINFO=$(start_pg "$WORK")
log "PostgreSQL: $CONNINFO"

make_tokens "$WORK/tokens" 64
# 64 principals: a bidder rarely meets its own lead (BID_NOT_IMPROVING).
BIDDER_TOKENS=$(seq -s, -f 'bidder-token-%g' 1 64)

SERVER_FLAGS=(--listen=127.0.0.1:0 --postgres="$CONNINFO" --tokens="$WORK/tokens"
  --data_dir="$WORK/data" --shards="$SHARDS")
[[ -n "$DURABILITY" ]] && SERVER_FLAGS+=(--durability="$DURABILITY")
[[ -n "$SHARD_SPIN" ]] && SERVER_FLAGS+=(--shard_spin="$SHARD_SPIN")
log "gavel-server ${SERVER_FLAGS[*]}"
"$SERVER_BIN" "${SERVER_FLAGS[@]}" 2>"$WORK/server.log" &
SERVER_PID=$!
GAVEL_PORT=$(wait_port "$WORK/server.log")
log "gavel-server pid $SERVER_PID on port $GAVEL_PORT, $SHARDS shard(s)"

"$BASE_BIN" --listen=127.0.0.1:0 --max_runtime=10m --api="$BASELINE_API" \
  --cq_threads="$BASELINE_CQ_THREADS" 2>"$WORK/baseline.log" &
BASE_PID=$!
BASE_PORT=$(wait_port "$WORK/baseline.log")
log "grpc_baseline pid $BASE_PID on port $BASE_PORT (--api=$BASELINE_API)"

# ---------------------------------------------------------------- runs
RESULTS="$WORK/results"
: >"$RESULTS"

# run_load NAME TARGET(gavel|baseline) MODE RATE
run_load() {
  local name="$1" target="$2" mode="$3" rate="$4" port pid
  if [[ "$target" == gavel ]]; then port=$GAVEL_PORT pid=$SERVER_PID; else port=$BASE_PORT pid=$BASE_PID; fi
  local bidders=$UNARY_BIDDERS
  [[ "$mode" == stream ]] && bidders=$STREAMS
  local cmd=("$LOAD_BIN" --server="127.0.0.1:$port" --seller_token=seller-token
    --bidder_tokens="$BIDDER_TOKENS" --create_auctions="$AUCTIONS" --mode="$mode"
    --bidders="$bidders" --window="$WINDOW" --channels="$CHANNELS" --cq_threads="$CQ_THREADS"
    --rate="$rate" --warmup="${WARMUP}s" --duration="${DURATION}s" --label="$name")
  log "$name: ${cmd[*]}"
  local t0 t1 w0 w1 m0 m1 c0 c1 out
  c0=$(ctx_switches "$pid")
  t0=$(cpu_ticks "$pid")
  m0=$(machine_ticks)
  w0=$(date +%s.%N)
  out=$(timeout $((WARMUP + DURATION + 40)) "${cmd[@]}" 2>>"$WORK/load.log") || {
    log "$name: gavel-load failed (exit $?)"
    echo "$out" >&2
    return 1
  }
  t1=$(cpu_ticks "$pid")
  c1=$(ctx_switches "$pid")
  m1=$(machine_ticks)
  w1=$(date +%s.%N)
  echo "$out" | grep -v '^RESULT' >&2
  local result answered
  result=$(echo "$out" | grep '^RESULT')
  answered=$(echo "$result" | sed -n 's/.*answered_all=\([0-9]*\).*/\1/p')
  # Server CPU per answer over the whole load run (listing auctions and
  # warm-up included), and the cores it kept busy meanwhile.
  local per cores cs
  cs=$(awk -v c=$((c1 - c0)) -v n="$answered" 'BEGIN { printf "%.2f", (n > 0 ? c / n : 0) }')
  per=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$answered" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  cores=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.2f", t / hz / (w1 - w0) }')
  # What the rest of the machine (other tenants) used meanwhile: all busy
  # time minus this server's and the client's.
  local client others
  client=$(echo "$result" | sed -n 's/.*client_cpu_s=\([0-9.]*\).*/\1/p')
  others=$(awk -v m=$((m1 - m0)) -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v c="$client" -v w0="$w0" -v w1="$w1" \
    'BEGIN { x = (m - t) / hz - c; if (x < 0) x = 0; printf "%.2f", x / (w1 - w0) }')
  echo "$result server_cpu_us_per_answer=$per server_cores=$cores server_cs_per_answer=$cs other_cores=$others target=$target" >>"$RESULTS"
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
throughput_of() { field "$(grep "label=$1 " "$RESULTS")" throughput; }

run_load gavel-unary-closed gavel unary 0
run_load base-unary-closed baseline unary 0
run_load gavel-stream-closed gavel stream 0
run_load base-stream-closed baseline stream 0

half() { awk -v x="$1" 'BEGIN { printf "%d", x / 2 }'; }
run_load gavel-unary-half gavel unary "$(half "$(throughput_of gavel-unary-closed)")"
run_load base-unary-half baseline unary "$(half "$(throughput_of base-unary-closed)")"
run_load gavel-stream-half gavel stream "$(half "$(throughput_of gavel-stream-closed)")"
run_load base-stream-half baseline stream "$(half "$(throughput_of base-stream-closed)")"

# ---------------------------------------------------------------- summary
echo
echo "Gavel end to end on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), shards=$SHARDS, durability=${DURABILITY:-default}, load avg now $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %9s %10s %8s %8s %8s %8s %8s %6s %10s %9s %10s %6s\n' run offered/s answers/s p50_us p99_us p999_us accepted rejected errors srv_us/ans srv_cores srv_cs/ans others
while read -r line; do
  rate=$(field "$line" rate)
  [[ "$rate" == 0 ]] && rate=closed
  printf '%-20s %9s %10s %8s %8s %8s %8s %8s %6s %10s %9s %10s %6s\n' \
    "$(field "$line" label)" "$rate" "$(field "$line" throughput)" "$(field "$line" p50_us)" \
    "$(field "$line" p99_us)" "$(field "$line" p999_us)" "$(field "$line" accepted)" \
    "$(field "$line" rejected)" "$(field "$line" errors)" \
    "$(field "$line" server_cpu_us_per_answer)" "$(field "$line" server_cores)" \
    "$(field "$line" server_cs_per_answer)" "$(field "$line" other_cores)"
done <"$RESULTS"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", (b > 0 ? 100 * a / b : 0) }'; }
echo
echo "unary:  Gavel $(throughput_of gavel-unary-closed)/s = $(ratio "$(throughput_of gavel-unary-closed)" "$(throughput_of base-unary-closed)") of the empty gRPC service"
echo "stream: Gavel $(throughput_of gavel-stream-closed)/s = $(ratio "$(throughput_of gavel-stream-closed)" "$(throughput_of base-stream-closed)") of the empty gRPC service"
echo "(srv_us/ans: server CPU per answer; srv_cores: server CPU / wall time; srv_cs/ans: the"
echo " server's context switches per answer; others: cores the rest of the machine, other"
echo " tenants included, kept busy during the run, from /proc/stat; latency from send to answer)"
echo
echo "RESULTS"
cat "$RESULTS"
