# Shared by bench/run_e2e.sh and bench/run_watch.sh (sourced, not run).

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
