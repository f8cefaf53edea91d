# Shared by the end-to-end test scripts; sourced, not run.

# scripts/pg.sh, unless the caller named one.
PG_SH=${PG_SH:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/pg.sh"}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# SIGKILLs process PID if it is still running (empty PID: nothing).
kill_if_running() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; fi
}

# Waits until gavel-server (process PID) on 127.0.0.1:PORT answers
# `gavel auction list` for TOKEN. Returns 0 once it does, 1 if the server
# exited, 2 after 30 s without an answer.
#   wait_for_server BIN_DIR PORT TOKEN PID
wait_for_server() {
  local bin=$1 port=$2 token=$3 pid=$4
  for _ in $(seq 1 300); do
    "$bin/clients/gavel" --server "127.0.0.1:$port" --token "$token" auction list \
      >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 2
}
