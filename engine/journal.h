// One shard's write-ahead journal and its snapshots, in the shard's own
// directory (docs/OPERATIONS.md "Data directory"):
//   journal-NNNNNNNNNNNN.log   records in the order the engine applied them;
//                              every file but the newest ends with a Counters
//                              record and is never written again ("rolled")
//   snapshot-NNNNNNNNNNNN.snap the compacted journal files numbered below N:
//                              the records of every auction not yet settled,
//                              then a Counters record
// A snapshot is a compacted journal, not a serialized engine: restoring one
// is replaying it, and because each record carries its sequence numbers and
// timer firings are records, replaying only the live auctions' records
// reproduces them byte for byte (engine/recovery.h).
//
// Journal is the writing side, used by one thread at a time: the shard
// thread (durability batch or none), or the shard's sync thread
// (durability sync: the shard thread frames records into its own buffer and
// hands them over, see engine/shard.h). Append buffers encoded records (no
// system call), AppendFramed buffers records framed elsewhere, Write hands
// the batch to the file in one write(2), Sync makes it durable with one
// fdatasync (group commit). After any failure the journal is failed for
// good: a failed fsync is never retried, since the kernel may have dropped
// the unsynced pages and a second fsync would report success for data that
// is gone.
#ifndef GAVEL_ENGINE_JOURNAL_H_
#define GAVEL_ENGINE_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/env.h"
#include "engine/journal_record.h"

namespace gavel {

// When a command's result may be acknowledged (--durability).
enum class Durability : uint8_t {
  kSync,   // after the batch holding its record is fdatasync'ed (the default)
  kBatch,  // after the record is written; fdatasync at least every batch interval
  kNone,   // after the record is written; fdatasync only when a file rolls or
           // at shutdown: a machine crash may lose acknowledged commands
};
absl::string_view DurabilityName(Durability d);
// "sync", "batch", "none". False on anything else.
bool ParseDurability(absl::string_view text, Durability* out);

struct JournalOptions {
  Env* env = nullptr;  // null: Env::Default()
  std::string dir;     // the shard's directory; must exist
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  Durability durability = Durability::kSync;
  // kBatch: the longest a written record waits for its fdatasync.
  absl::Duration batch_interval = absl::Milliseconds(5);
  // A journal file rolls once it holds this many bytes...
  uint64_t max_file_bytes = 64u << 20;
  // ... or once it is this old and holds a record (so that snapshots are
  // also taken periodically under light load). InfiniteDuration: never.
  absl::Duration max_file_age = absl::Minutes(10);
  // How long snapshots keep the CreateAuction key of an auction they have
  // dropped (kEndedAuctionKey), counted from its MarkSettled record; a
  // running engine keeps every key it saw until it stops.
  absl::Duration ended_key_retention = absl::Hours(24 * 7);
};

class Journal final : public CommandLog {
 public:
  // Creates journal file `file_number` (which must not exist), writes its
  // header and syncs it and the directory.
  static absl::StatusOr<std::unique_ptr<Journal>> Open(JournalOptions options,
                                                       uint64_t file_number, absl::Time now);
  ~Journal() override;

  // Buffers `record` (encoded and framed). Ignored once failed.
  void Append(const JournalRecord& record) override;

  // Buffers records already framed by AppendFrame (`count` of them), as if
  // each had been Appended. Ignored once failed.
  void AppendFramed(absl::string_view framed, uint64_t count);

  // Whether records were appended since the last Write.
  bool has_buffered() const { return !buffer_.empty(); }
  // Whether records were written since the last successful Sync.
  bool has_unsynced() const { return unsynced_; }
  // Writes the buffered records to the file (one write). FailedPrecondition
  // once failed.
  absl::Status Write();
  // Makes every written record durable (one fdatasync); a no-op when none
  // is unsynced.
  absl::Status Sync();

  // Whether the current file should roll: it is over max_file_bytes, or
  // over max_file_age with a record in it.
  bool ShouldRoll(absl::Time now) const;
  // Ends the current file with `counters` (written and synced), closes it
  // and opens the next. The closed file (and every one below it) may then be
  // compacted. REQUIRES: nothing buffered.
  absl::Status Roll(const JournalRecord& counters, absl::Time now);
  // Ends the current file with `counters`, synced, and closes it: the
  // clean shutdown. Every file is then complete. REQUIRES: nothing buffered.
  absl::Status Close(const JournalRecord& counters);

  // The first error, or OK.
  const absl::Status& failure() const { return failure_; }
  uint64_t file_number() const { return file_number_; }
  const std::string& file_path() const { return path_; }

 private:
  explicit Journal(JournalOptions options);
  absl::Status OpenFile(uint64_t number, absl::Time now);
  absl::Status Fail(absl::Status status);

  JournalOptions options_;
  Env* env_;
  std::unique_ptr<WritableFile> file_;
  uint64_t file_number_ = 0;
  std::string path_;
  uint64_t file_bytes_ = 0;
  uint64_t file_records_ = 0;  // command records in the current file
  absl::Time file_opened_;
  std::string buffer_;
  bool unsynced_ = false;
  absl::Status failure_;
};

// What a compaction did.
struct CompactionStats {
  uint64_t snapshot_number = 0;  // the snapshot written (0: nothing to do)
  uint64_t records_in = 0;
  uint64_t records_kept = 0;
  uint64_t auctions_dropped = 0;  // settled: their records left the journal
  std::vector<AuctionId> dropped;  // ... which ones (for the engine to free)
  uint64_t keys_kept = 0;         // ... but their CreateAuction keys were kept
  uint64_t keys_expired = 0;      // kept keys older than the retention, now dropped
  uint64_t bytes_written = 0;
  uint64_t files_removed = 0;
};

// Compacts the newest snapshot of `dir` and every journal file numbered
// below `upto` into snapshot-`upto`: the records of every auction that has no
// MarkSettled record, in their original order, then a Counters record. A
// dropped auction's CreateAuction record becomes a kEndedAuctionKey record
// (its seller and request_id), kept while its MarkSettled record is less
// than `ended_key_retention` older than the newest record compacted. The
// snapshot is written to a temporary file, synced, renamed into place and
// the directory synced; only then are the files it covers deleted.
// REQUIRES: the journal files below `upto` are complete (rolled or closed)
// and nobody writes them; another thread may append to file `upto` or later
// meanwhile. DataLoss/Internal naming the file on a damaged input; the
// directory is then left as it was (a temporary file aside). A failure after
// the snapshot was renamed into place still sets stats->snapshot_number and
// stats->dropped.
absl::Status CompactJournal(Env* env, const std::string& dir, uint32_t shard_index,
                            uint32_t shard_count, uint64_t upto, absl::Duration ended_key_retention,
                            CompactionStats* stats);

}  // namespace gavel

#endif  // GAVEL_ENGINE_JOURNAL_H_
