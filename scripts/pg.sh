#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for Gavel's tests and demo.
#
#   scripts/pg.sh start  DIR [--fast] [--port N]   initdb (first time), start, create db `gavel`,
#                                                  write and print DIR/conninfo
#   scripts/pg.sh stop   DIR [--remove]            fast shutdown (fine if not running);
#                                                  --remove deletes the cluster and DIR
#   scripts/pg.sh status DIR                       prints the conninfo and exits 0 when running,
#                                                  prints "stopped" and exits 3 otherwise
#   scripts/pg.sh schema CONNINFO NAME [--drop]    creates schema NAME (dropping any earlier one
#                                                  of that name) and prints a conninfo that selects
#                                                  it through search_path; --drop only drops it.
#                                                  Lets tests that share one cluster run in
#                                                  parallel without seeing each other's rows.
#
# Layout of DIR: data/ (the cluster), log (server log), conninfo (the libpq connection string
# `host=127.0.0.1 port=PORT user=gavel dbname=gavel`), port, .gavel-pg (marks DIR as ours, so
# `stop --remove` never deletes a directory this script did not make). The server listens on
# 127.0.0.1 only, authentication is `trust` for user `gavel`: for tests and demos, not production.
#
# Ports: --port N pins the port (a restart on the same DIR then keeps the same conninfo).
# Without it a second start reuses the previous port if it is still free, else picks a free one.
#
# --fast turns off fsync, synchronous_commit and full_page_writes: only for throwaway test
# clusters; a crash of the machine can then corrupt the data. The demo must not use it.
#
# Running as root: initdb and pg_ctl refuse to run as root, so they run as user `postgres`
# (runuser), and the cluster must be reachable by that user. If DIR does not exist yet and
# `postgres` cannot traverse its parent (e.g. a build tree under a 0700 home directory; check with
# `namei -l DIR`), the cluster is created in `mktemp -d /tmp/gavel-pg.XXXXXX` and DIR becomes a
# symlink to it: every path above still works through DIR, the server itself is only ever given
# the real /tmp path, and `stop --remove` deletes both. An existing DIR that `postgres` cannot
# reach is an error with an explanation. Not as root: everything runs as the current user.
#
# Overrides: GAVEL_PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

PG_BIN="${GAVEL_PG_BIN:-/usr/lib/postgresql/15/bin}"
MARKER=".gavel-pg"

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  cat >&2 <<'EOF'
usage: scripts/pg.sh start  DIR [--fast] [--port N]
       scripts/pg.sh stop   DIR [--remove]
       scripts/pg.sh status DIR
       scripts/pg.sh schema CONNINFO NAME [--drop]
EOF
  exit 2
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# Runs a PostgreSQL server tool as the cluster owner: `postgres` when we are root.
as_owner() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True when the cluster owner can reach (search) directory $1, including every parent.
owner_can_traverse() {
  if is_root; then
    (cd / && runuser -u postgres -- test -x "$1") 2>/dev/null
  else
    test -x "$1"
  fi
}

# Prints a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
  local py
  for py in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    if [[ -n "$py" && -x "$py" ]] &&
      "$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null; then
      return 0
    fi
  done
  # No python: probe random ports until a connect fails.
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  die "could not find a free TCP port on 127.0.0.1"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# DIR made absolute without resolving DIR itself (it may be our symlink to /tmp).
abs_path() { echo "$(readlink -m -- "$(dirname -- "$1")")/$(basename -- "$1")"; }

# The directory the server really lives in (DIR, or the /tmp directory DIR links to).
real_dir() { readlink -f -- "$1"; }

server_running() {
  local real="$1"
  [[ -f "$real/data/PG_VERSION" ]] && as_owner "$PG_BIN/pg_ctl" -D "$real/data" status >/dev/null 2>&1
}

# Creates DIR ready for initdb (see "Running as root" above).
prepare_dir() {
  local dir="$1"
  if [[ -e "$dir" || -L "$dir" ]]; then
    [[ -d "$dir" ]] || die "$dir exists and is not a directory"
    local real
    real="$(real_dir "$dir")"
    if [[ ! -f "$real/$MARKER" ]]; then
      [[ -z "$(ls -A -- "$real")" ]] ||
        die "$dir exists, is not empty and was not made by pg.sh; choose another directory"
      touch "$real/$MARKER"
    fi
    if is_root; then
      chown postgres: "$real"
      owner_can_traverse "$real" ||
        die "user postgres cannot reach $real (a parent directory is not traversable: see" \
          "'namei -l $real'); remove it and let pg.sh create it, or use a directory under /tmp"
    fi
    return 0
  fi
  local parent
  parent="$(dirname -- "$dir")"
  mkdir -p -- "$parent"
  if is_root && ! owner_can_traverse "$parent"; then
    local tmp
    tmp="$(mktemp -d /tmp/gavel-pg.XXXXXX)"
    echo "pg.sh: user postgres cannot traverse $parent; the cluster lives in $tmp" \
      "and $dir links to it" >&2
    touch "$tmp/$MARKER"
    chown postgres: "$tmp"
    chmod 0755 "$tmp"
    ln -s -- "$tmp" "$dir"
    return 0
  fi
  mkdir -- "$dir"
  touch "$dir/$MARKER"
  if is_root; then chown postgres: "$dir"; fi
}

conninfo_for_port() { echo "host=127.0.0.1 port=$1 user=gavel dbname=gavel"; }

# Port of the running server, from its postmaster.pid (line 4).
running_port() { sed -n 4p "$1/data/postmaster.pid" 2>/dev/null; }

cmd_start() {
  local dir="" fast=0 port=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --fast) fast=1 ;;
      --port)
        [[ $# -ge 2 ]] || usage
        port="$2"
        shift
        ;;
      --port=*) port="${1#--port=}" ;;
      -*) usage ;;
      *)
        [[ -z "$dir" ]] || usage
        dir="$1"
        ;;
    esac
    shift
  done
  [[ -n "$dir" ]] || usage
  if [[ -n "$port" && ! "$port" =~ ^[0-9]+$ ]]; then die "--port: '$port' is not a number"; fi
  [[ -x "$PG_BIN/pg_ctl" ]] || die "no PostgreSQL tools in $PG_BIN (apt-get install postgresql)"
  dir="$(abs_path "$dir")"
  [[ "$dir" != *"'"* ]] || die "the directory path must not contain a single quote: $dir"

  if [[ -d "$dir" ]] && server_running "$(real_dir "$dir")"; then
    local real running
    real="$(real_dir "$dir")"
    running="$(running_port "$real")"
    if [[ -n "$port" && "$port" != "$running" ]]; then
      die "a server is already running in $dir on port $running, not $port; stop it first"
    fi
    [[ -f "$dir/conninfo" ]] || conninfo_for_port "$running" >"$dir/conninfo"
    cat "$dir/conninfo"
    return 0
  fi

  prepare_dir "$dir"
  local real
  real="$(real_dir "$dir")"
  if [[ ! -f "$real/data/PG_VERSION" ]]; then
    [[ ! -e "$real/data" ]] ||
      die "$real/data exists but is not a cluster (an interrupted initdb?); remove it"
    as_owner "$PG_BIN/initdb" -D "$real/data" -U gavel -A trust -E UTF8 >"$real/initdb.log" 2>&1 ||
      {
        cat "$real/initdb.log" >&2
        die "initdb failed"
      }
  fi

  local opts="-c listen_addresses=127.0.0.1"
  # A Unix socket path is limited to 107 bytes; over that, TCP only (nothing here needs it).
  if [[ ${#real} -le 90 ]]; then
    opts+=" -k '$real'"
  else
    opts+=" -k ''"
  fi
  if [[ $fast == 1 ]]; then
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi

  local pinned=0 attempt
  if [[ -n "$port" ]]; then
    pinned=1
  elif [[ -f "$real/port" ]] && ! port_in_use "$(cat "$real/port")"; then
    port="$(cat "$real/port")"
  fi
  for attempt in 1 2 3; do
    [[ -n "$port" ]] || port="$(free_port)"
    if as_owner "$PG_BIN/pg_ctl" -D "$real/data" -l "$real/log" -w -t 60 \
      -o "$opts -p $port" start >/dev/null; then
      break
    fi
    # Another process may have taken the port between picking and binding: pick again.
    if [[ $pinned == 1 || $attempt == 3 ]]; then
      tail -n 20 "$real/log" >&2 || true
      die "could not start PostgreSQL in $dir on port $port (log: $real/log)"
    fi
    port=""
  done
  echo "$port" >"$real/port"

  local psql=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U gavel)
  if [[ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'gavel'")" != 1 ]]; then
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U gavel gavel
  fi
  conninfo_for_port "$port" >"$real/conninfo"
  chmod 0644 "$real/conninfo" "$real/port"
  cat "$real/conninfo"
}

cmd_stop() {
  local dir="" remove=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --remove) remove=1 ;;
      -*) usage ;;
      *)
        [[ -z "$dir" ]] || usage
        dir="$1"
        ;;
    esac
    shift
  done
  [[ -n "$dir" ]] || usage
  dir="$(abs_path "$dir")"
  if [[ ! -e "$dir" ]]; then
    # Nothing there: not running; a dangling symlink is still ours to remove.
    if [[ $remove == 1 && -L "$dir" ]]; then rm -f -- "$dir"; fi
    return 0
  fi
  local real
  real="$(real_dir "$dir")"
  [[ -f "$real/$MARKER" ]] || die "$dir was not made by pg.sh; refusing to touch it"
  if server_running "$real"; then
    as_owner "$PG_BIN/pg_ctl" -D "$real/data" -m fast -w -t 60 stop >/dev/null
  fi
  if [[ $remove == 1 ]]; then
    rm -rf -- "$real"
    if [[ -L "$dir" ]]; then rm -f -- "$dir"; fi
  fi
}

cmd_status() {
  [[ $# -eq 1 ]] || usage
  local dir
  dir="$(abs_path "$1")"
  if [[ -d "$dir" ]] && server_running "$(real_dir "$dir")"; then
    conninfo_for_port "$(running_port "$(real_dir "$dir")")"
    return 0
  fi
  echo "stopped"
  return 3
}

cmd_schema() {
  [[ $# -eq 2 || ( $# -eq 3 && "$3" == --drop ) ]] || usage
  local conninfo="$1" name="$2"
  [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || die "schema: '$name' is not a plain lower-case name"
  "$PG_BIN/psql" "$conninfo" -X -q -v ON_ERROR_STOP=1 \
    -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null ||
    die "schema: cannot drop $name through '$conninfo'"
  [[ $# -eq 3 ]] && return 0
  "$PG_BIN/psql" "$conninfo" -X -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $name" >/dev/null ||
    die "schema: cannot create $name through '$conninfo'"
  echo "$conninfo options='-c search_path=$name'"
}

[[ $# -ge 1 ]] || usage
command="$1"
shift
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  schema) cmd_schema "$@" ;;
  *) usage ;;
esac
