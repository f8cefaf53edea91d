#!/usr/bin/env bash
# Fails when a lock appears in the engine or on the server's bid path (the
# RPC handlers of the engine-facing services, the runtime hand-off and the
# watch streams). The audit service and the store may block on PostgreSQL
# and are not on that path.
set -euo pipefail
cd "$(dirname "$0")/.."
BID_PATH=(engine server/services.cc server/runtime.h server/runtime.cc server/watch.h
          server/watch.cc server/convert.cc server/convert.h server/auth.h server/auth.cc
          server/services.h server/bid_stream.h server/bid_stream.cc)
PATTERN='std::(mutex|shared_mutex|recursive_mutex|timed_mutex|condition_variable|condition_variable_any|lock_guard|unique_lock|scoped_lock|shared_lock)|absl::(Mutex|MutexLock|ReaderMutexLock|WriterMutexLock|CondVar)|pthread_(mutex|cond|rwlock|spin)_|std::counting_semaphore|std::binary_semaphore'
# Comments may name what is not used; look at code only.
hits=$(grep -rnE "$PATTERN" "${BID_PATH[@]}" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$hits" ]; then
  echo "check_no_locks: a lock on the bid path:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "check_no_locks: no lock in engine/ or on the server's bid path"
