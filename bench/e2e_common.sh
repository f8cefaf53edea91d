# Shared by bench/run_e2e.sh, run_watch.sh and run_streams.sh (sourced, not
# run; they set ROOT, the repository's top, first).

# require_binaries SCRIPT BUILD_DIR PATH...: exits 2, saying how to build
# them, unless every PATH is an executable.
require_binaries() {
  local script="$1" build="$2" b
  shift 2
  for b in "$@"; do
    [[ -x "$b" ]] || {
      echo "$script: $b is missing; build it: ninja -C $build $(for x in "$@"; do basename "$x"; done | tr '\n' ' ')" >&2
      exit 2
    }
  done
}

stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Waits for "listening on 127.0.0.1:PORT" in log $1 and prints PORT.
wait_port() {
  local logfile="$1" port=""
  for _ in $(seq 1 100); do
    port=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$logfile" 2>/dev/null | head -n 1 | cut -d: -f2 || true)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || {
    cat "$logfile" >&2
    return 1
  }
  echo "$port"
}

# start_pg WORK_DIR: starts a private PostgreSQL in WORK_DIR/pg and prints
# its conninfo.
start_pg() {
  timeout 60 "$ROOT/scripts/pg.sh" start "$1/pg" --fast | tail -n 1
}

# make_tokens FILE N: a tokens file with a seller (seller-token, principal
# seller1) and N bidders (bidder-token-I, principal bidderI).
make_tokens() {
  local i
  {
    echo "seller-token seller1 seller"
    for i in $(seq 1 "$2"); do echo "bidder-token-$i bidder$i bidder"; done
  } >"$1"
}

# cleanup_work WORK_DIR PID...: stops the PIDs, then the PostgreSQL in
# WORK_DIR/pg, and removes WORK_DIR (for an EXIT trap).
cleanup_work() {
  local work="$1" pid
  shift
  for pid in "$@"; do stop_pid "$pid"; done
  "$ROOT/scripts/pg.sh" stop "$work/pg" --remove >/dev/null 2>&1 || true
  rm -rf "$work"
}
