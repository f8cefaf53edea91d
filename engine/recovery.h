// Recovery at start: restores a shard's engine from its directory (the
// layout is in engine/journal.h): the newest valid snapshot, then every
// journal file after it, replayed in order (Engine::Replay). Replay never
// consults a clock: times, sequence numbers and timer firings all come from
// the records.
//
// Damage: a record that is cut short or fails its checksum at the END of the
// newest journal file is a torn tail (the crash interrupted a write whose
// batch was never acknowledged): replay stops there, the file is truncated
// to the last good record, and a line naming the file and offset is logged.
// Damage anywhere else (an older file, or a valid record found after the
// damaged one) means acknowledged records are unreadable: recovery fails
// with DataLoss naming the file and offset, and the server must not start.
#ifndef GAVEL_ENGINE_RECOVERY_H_
#define GAVEL_ENGINE_RECOVERY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/env.h"

namespace gavel {

// Maps a journaled principal name back to an id of this process, interning
// names it does not know (a tokens file may have changed since the journal
// was written). Called on the recovering thread only, before serving.
class PrincipalResolver {
 public:
  virtual ~PrincipalResolver() = default;
  virtual PrincipalId Resolve(absl::string_view name) = 0;
};

struct RecoveryOptions {
  Env* env = nullptr;  // null: Env::Default()
  std::string dir;     // the shard's directory; created when missing
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // Where the torn-tail and damaged-snapshot lines go; null: stderr.
  std::function<void(const std::string&)> log;
};

struct RecoveryReport {
  uint64_t snapshot_number = 0;  // the snapshot restored; 0: none
  uint64_t snapshot_records = 0;
  uint64_t journal_files = 0;
  uint64_t journal_records = 0;
  bool torn_tail = false;
  std::string torn_tail_file;
  uint64_t torn_tail_offset = 0;
  uint64_t torn_tail_bytes = 0;  // discarded
  // The journal continues in this (new) file; every file below it is
  // complete and may be compacted.
  uint64_t next_file_number = 1;
  absl::Duration elapsed;
};

// Restores `engine`, which must be fresh (no auction yet) and have no
// CommandLog attached. On success the directory holds only the snapshot and
// the complete journal files after it. Errors: DataLoss (damaged files, named
// with offsets), FailedPrecondition (files of another shard or shard count),
// Internal (a record that does not replay), or the Env's I/O error.
absl::StatusOr<RecoveryReport> Recover(const RecoveryOptions& options, Engine* engine,
                                       PrincipalResolver* principals);

}  // namespace gavel

#endif  // GAVEL_ENGINE_RECOVERY_H_
