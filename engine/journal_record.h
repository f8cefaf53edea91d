// One journal record: a command the engine applied (or a timer it fired),
// with the engine time and the sequence numbers around it, so that replaying
// the records reproduces the engine's state byte for byte (DESIGN.md
// "Durability"). Also the binary encoding of a record's payload: little-endian
// integers, strings as u32 length + bytes, times and durations as exact
// (seconds, nanoseconds) pairs. docs/OPERATIONS.md describes the files.
//
// Principals are journaled by NAME (the PrincipalId of the writing process
// is meaningless to the next one, whose tokens file may differ); replay maps
// the name back to an id (engine/recovery.h).
#ifndef GAVEL_ENGINE_JOURNAL_RECORD_H_
#define GAVEL_ENGINE_JOURNAL_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/types.h"

namespace gavel {

// The engine's timers (engine/engine.h).
enum class TimerKind : uint8_t { kOpen = 0, kFormat = 1, kClose = 2 };

enum class RecordType : uint8_t {
  // Each file's first record: what the file is, for which shard.
  kFileHeader = 1,
  kCreateAuction = 2,  // principal = seller; key = request_id; spec; auction_id assigned
  kCancelAuction = 3,  // principal = seller; auction_id
  kPlaceBid = 4,       // principal = bidder; key = client_bid_id; auction_id, amount, ...
  kCancelBid = 5,      // principal = owner; auction_id; entry (journals before cancel keys)
  kMarkSettled = 6,    // auction_id: PostgreSQL committed its settlement
  kTimerFired = 7,     // auction_id; timer_kind; timer_at
  // The engine's counters (sequence_after, next_local_id, time): ends every
  // rolled journal file and every snapshot.
  kCounters = 8,
  // principal = owner; auction_id; entry; key = request_id: what CancelBid
  // writes since a cancel's request_id makes it idempotent (kCancelBid,
  // without the key, is still read from older journals).
  kCancelBidWithKey = 9,
  // principal = seller; key = request_id; auction_id; settled_at: what a
  // snapshot keeps of an auction it dropped (settled), so that a
  // CreateAuction resent with that request_id after a restart is still
  // answered with the auction's id instead of creating another. Written
  // only by compaction, in place of the dropped auction's CreateAuction
  // record, with its time; dropped itself once older than the journal's
  // ended_key_retention.
  kEndedAuctionKey = 10,
};
inline constexpr RecordType kLastRecordType = RecordType::kEndedAuctionKey;
absl::string_view RecordTypeName(RecordType type);

enum class FileKind : uint8_t { kJournal = 1, kSnapshot = 2 };

struct JournalRecord {
  RecordType type = RecordType::kCounters;
  absl::Time time;               // the engine's time when it applied the command
  Sequence sequence_before = 0;  // the engine's sequence before the command
  Sequence sequence_after = 0;   // ... and after it (a replay must arrive there)

  AuctionId auction_id = 0;
  // Not encoded: the writer's id for `principal_name`; a decoded record has
  // kNoPrincipal until recovery resolves the name.
  PrincipalId principal = kNoPrincipal;
  std::string principal_name;
  std::string key;   // request_id (create, cancel bid) or client_bid_id (bid)
  AuctionSpec spec;  // create
  int64_t amount_minor = 0;
  int64_t quantity = 1;
  Side side = Side::kNone;
  bool immediate_or_cancel = false;
  uint32_t entry = 0;  // cancel bid
  TimerKind timer_kind = TimerKind::kOpen;
  absl::Time timer_at;
  uint64_t next_local_id = 0;  // counters
  absl::Time settled_at;       // ended auction key: when its MarkSettled was written

  // File header.
  FileKind file_kind = FileKind::kJournal;
  uint64_t file_number = 0;
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
};

// Appends the payload encoding of `r` to `out`.
void EncodeRecord(const JournalRecord& r, std::string* out);
// Decodes one payload. DataLoss naming what is wrong on a malformed one (an
// unknown type, a short field, trailing bytes).
absl::StatusOr<JournalRecord> DecodeRecord(absl::string_view payload);
// What compaction needs of a record, read without decoding the rest.
struct RecordPeek {
  RecordType type = RecordType::kCounters;
  absl::Time time;
  Sequence sequence_after = 0;
  AuctionId auction_id = 0;  // 0 for kFileHeader and kCounters
};
absl::Status PeekRecord(absl::string_view payload, RecordPeek* out);

// Whether two records encode the same (principal ids are not compared).
bool SameRecord(const JournalRecord& a, const JournalRecord& b);

}  // namespace gavel

#endif  // GAVEL_ENGINE_JOURNAL_RECORD_H_
