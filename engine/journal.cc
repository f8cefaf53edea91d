#include "engine/journal.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/journal_file.h"

namespace gavel {
namespace {

JournalRecord HeaderRecord(FileKind kind, uint64_t number, uint32_t shard_index,
                           uint32_t shard_count, absl::Time now) {
  JournalRecord h;
  h.type = RecordType::kFileHeader;
  h.time = now;
  h.file_kind = kind;
  h.file_number = number;
  h.shard_index = shard_index;
  h.shard_count = shard_count;
  return h;
}

}  // namespace

absl::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kSync: return "sync";
    case Durability::kBatch: return "batch";
    case Durability::kNone: return "none";
  }
  return "unknown";
}

bool ParseDurability(absl::string_view text, Durability* out) {
  if (text == "sync") {
    *out = Durability::kSync;
  } else if (text == "batch") {
    *out = Durability::kBatch;
  } else if (text == "none") {
    *out = Durability::kNone;
  } else {
    return false;
  }
  return true;
}

Journal::Journal(JournalOptions options)
    : options_(std::move(options)), env_(options_.env ? options_.env : Env::Default()) {
  buffer_.reserve(1 << 16);
}

Journal::~Journal() {
  if (file_ != nullptr) file_->Close().IgnoreError();
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(JournalOptions options,
                                                       uint64_t file_number, absl::Time now) {
  std::unique_ptr<Journal> journal(new Journal(std::move(options)));
  if (absl::Status st = journal->OpenFile(file_number, now); !st.ok()) return st;
  return journal;
}

absl::Status Journal::OpenFile(uint64_t number, absl::Time now) {
  const std::string name = JournalFileName(number);
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(options_.dir);
  if (!names.ok()) return Fail(names.status());
  if (std::find(names->begin(), names->end(), name) != names->end()) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat("journal file ", PathIn(options_.dir, name), " exists already")));
  }
  path_ = PathIn(options_.dir, name);
  absl::StatusOr<std::unique_ptr<WritableFile>> file = env_->OpenAppendable(path_);
  if (!file.ok()) return Fail(file.status());
  file_ = *std::move(file);
  // Room for the whole file, so that a group commit's fdatasync need not
  // update the file's size (WritableFile::Reserve). Best effort: without it
  // the file grows.
  file_->Reserve(options_.max_file_bytes);
  file_number_ = number;
  file_bytes_ = 0;
  file_records_ = 0;
  file_opened_ = now;
  std::string header;
  AppendFrame(HeaderRecord(FileKind::kJournal, number, options_.shard_index,
                           options_.shard_count, now),
              &header);
  if (absl::Status st = file_->Append(header); !st.ok()) return Fail(st);
  file_bytes_ = header.size();
  if (absl::Status st = file_->Sync(); !st.ok()) return Fail(st);
  // The file's directory entry must be durable before a record in it is
  // acknowledged.
  if (absl::Status st = env_->SyncDir(options_.dir); !st.ok()) return Fail(st);
  unsynced_ = false;
  return absl::OkStatus();
}

absl::Status Journal::Fail(absl::Status status) {
  if (failure_.ok()) failure_ = status;
  buffer_.clear();
  return failure_;
}

void Journal::Append(const JournalRecord& record) {
  if (!failure_.ok()) return;
  AppendFrame(record, &buffer_);
  ++file_records_;
}

void Journal::AppendFramed(absl::string_view framed, uint64_t count) {
  if (!failure_.ok()) return;
  buffer_.append(framed.data(), framed.size());
  file_records_ += count;
}

absl::Status Journal::Write() {
  if (!failure_.ok()) return failure_;
  if (buffer_.empty()) return absl::OkStatus();
  if (absl::Status st = file_->Append(buffer_); !st.ok()) return Fail(st);
  file_bytes_ += buffer_.size();
  unsynced_ = true;
  // Keep the capacity unless one huge batch inflated it.
  if (buffer_.capacity() > (8u << 20)) {
    std::string().swap(buffer_);
    buffer_.reserve(1 << 16);
  } else {
    buffer_.clear();
  }
  return absl::OkStatus();
}

absl::Status Journal::Sync() {
  if (!failure_.ok()) return failure_;
  if (!unsynced_) return absl::OkStatus();
  if (absl::Status st = file_->Sync(); !st.ok()) return Fail(st);
  unsynced_ = false;
  return absl::OkStatus();
}

bool Journal::ShouldRoll(absl::Time now) const {
  if (!failure_.ok() || file_ == nullptr) return false;
  if (file_bytes_ >= options_.max_file_bytes) return true;
  return file_records_ > 0 && options_.max_file_age != absl::InfiniteDuration() &&
         now - file_opened_ >= options_.max_file_age;
}

absl::Status Journal::Close(const JournalRecord& counters) {
  if (!failure_.ok()) return failure_;
  if (file_ == nullptr) return absl::OkStatus();
  AppendFrame(counters, &buffer_);
  if (absl::Status st = Write(); !st.ok()) return st;
  unsynced_ = true;  // a roll always syncs, whatever the durability mode
  if (absl::Status st = Sync(); !st.ok()) return st;
  absl::Status st = file_->Close();
  file_.reset();
  if (!st.ok()) return Fail(st);
  return absl::OkStatus();
}

absl::Status Journal::Roll(const JournalRecord& counters, absl::Time now) {
  if (absl::Status st = Close(counters); !st.ok()) return st;
  return OpenFile(file_number_ + 1, now);
}

// ---------------------------------------------------------------- compaction

namespace {

struct DirListing {
  std::vector<uint64_t> journals;   // ascending
  std::vector<uint64_t> snapshots;  // ascending
};

absl::StatusOr<DirListing> List(Env* env, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  DirListing out;
  for (const std::string& name : *names) {
    uint64_t n = 0;
    if (ParseJournalFileName(name, &n)) out.journals.push_back(n);
    if (ParseSnapshotFileName(name, &n)) out.snapshots.push_back(n);
  }
  std::sort(out.journals.begin(), out.journals.end());
  std::sort(out.snapshots.begin(), out.snapshots.end());
  return out;
}

}  // namespace

absl::Status CompactJournal(Env* env, const std::string& dir, uint32_t shard_index,
                            uint32_t shard_count, uint64_t upto, absl::Duration ended_key_retention,
                            CompactionStats* stats) {
  if (env == nullptr) env = Env::Default();
  *stats = CompactionStats();
  absl::StatusOr<DirListing> listing = List(env, dir);
  if (!listing.ok()) return listing.status();
  uint64_t base = 0;  // the snapshot compacted again, 0: none
  for (uint64_t s : listing->snapshots) {
    if (s < upto) base = s;
    if (s == upto) return absl::OkStatus();  // done already
  }
  std::vector<std::string> inputs;
  if (base != 0) inputs.push_back(PathIn(dir, SnapshotFileName(base)));
  uint64_t first = base;
  if (base == 0) {
    // No snapshot yet: the journal starts at file 1.
    if (listing->journals.empty() || listing->journals.front() >= upto) return absl::OkStatus();
    first = 1;
  }
  for (uint64_t n = first; n < upto; ++n) {
    if (!std::binary_search(listing->journals.begin(), listing->journals.end(), n)) {
      return absl::DataLossError(absl::StrCat("compaction of ", dir, ": journal file ",
                                              JournalFileName(n), " is missing"));
    }
    inputs.push_back(PathIn(dir, JournalFileName(n)));
  }
  if (first == upto) return absl::OkStatus();  // no journal file to fold in

  // Pass 1: which auctions are settled (and when), and the counters at the
  // end.
  absl::flat_hash_map<AuctionId, absl::Time> settled;
  absl::Time last_time = absl::InfinitePast();
  Sequence last_sequence = 0;
  uint64_t next_local_id = 0;
  for (const std::string& path : inputs) {
    absl::StatusOr<std::string> data = env->ReadFile(path);
    if (!data.ok()) return data.status();
    ScanResult scan = ScanFrames(*data);
    if (scan.damaged) {
      return absl::DataLossError(absl::StrCat("compaction: ", path, " is damaged at offset ",
                                              scan.valid_end, " (", scan.damage, ")"));
    }
    if (!EndsWithCounters(scan)) {
      return absl::DataLossError(
          absl::StrCat("compaction: ", path, " does not end with its counters record"));
    }
    for (const Frame& f : scan.frames) {
      RecordPeek peek;
      if (absl::Status st = PeekRecord(f.payload, &peek); !st.ok()) {
        return absl::DataLossError(
            absl::StrCat("compaction: ", path, " offset ", f.offset, ": ", st.message()));
      }
      if (peek.type == RecordType::kFileHeader) continue;
      ++stats->records_in;
      last_time = peek.time;
      last_sequence = peek.sequence_after;
      if (peek.type == RecordType::kMarkSettled) settled.emplace(peek.auction_id, peek.time);
      if (peek.type == RecordType::kCreateAuction) {
        next_local_id = std::max(next_local_id, peek.auction_id / shard_count + 1);
      }
      if (peek.type == RecordType::kCounters) {
        absl::StatusOr<JournalRecord> counters = DecodeRecord(f.payload);
        if (!counters.ok()) {
          return absl::DataLossError(absl::StrCat("compaction: ", path, " offset ", f.offset,
                                                  ": ", counters.status().message()));
        }
        next_local_id = std::max(next_local_id, counters->next_local_id);
      }
    }
  }

  // Pass 2: the snapshot.
  const std::string name = SnapshotFileName(upto);
  const std::string tmp = PathIn(dir, absl::StrCat(name, ".tmp"));
  env->Remove(tmp).IgnoreError();  // a leftover of an earlier attempt that failed
  absl::StatusOr<std::unique_ptr<WritableFile>> out = env->OpenAppendable(tmp);
  if (!out.ok()) return out.status();
  // A snapshot that fails is removed at once: on a full disk the next
  // attempt (another number) must not find the space taken by this one.
  auto fail = [&](absl::Status st) {
    out->reset();
    env->Remove(tmp).IgnoreError();
    return st;
  };
  std::string buffer;
  AppendFrame(HeaderRecord(FileKind::kSnapshot, upto, shard_index, shard_count, last_time),
              &buffer);
  auto flush = [&]() -> absl::Status {
    if (absl::Status st = (*out)->Append(buffer); !st.ok()) return st;
    stats->bytes_written += buffer.size();
    buffer.clear();
    return absl::OkStatus();
  };
  for (const std::string& path : inputs) {
    absl::StatusOr<std::string> data = env->ReadFile(path);
    if (!data.ok()) return fail(data.status());
    ScanResult scan = ScanFrames(*data);
    if (scan.damaged) {
      return fail(
          absl::DataLossError(absl::StrCat("compaction: ", path, " changed while compacting")));
    }
    for (const Frame& f : scan.frames) {
      RecordPeek peek;
      if (absl::Status st = PeekRecord(f.payload, &peek); !st.ok()) return fail(st);
      if (peek.type == RecordType::kFileHeader || peek.type == RecordType::kCounters) continue;
      const auto dropped = settled.find(peek.auction_id);
      const bool ended_key = peek.type == RecordType::kEndedAuctionKey;
      if (dropped == settled.end() && !ended_key) {
        AppendFramedPayload(f.payload, &buffer);
        ++stats->records_kept;
      } else if (peek.type == RecordType::kCreateAuction || ended_key) {
        // Of a dropped auction, only who created it under which key, while
        // that is younger than the retention.
        absl::StatusOr<JournalRecord> r = DecodeRecord(f.payload);
        if (!r.ok()) {
          return fail(absl::DataLossError(absl::StrCat("compaction: ", path, " offset ", f.offset,
                                                       ": ", r.status().message())));
        }
        if (!ended_key) {
          r->type = RecordType::kEndedAuctionKey;
          r->sequence_before = r->sequence_after;
          r->spec = AuctionSpec();
          r->settled_at = dropped->second;
        }
        if (last_time - r->settled_at >= ended_key_retention) {
          ++stats->keys_expired;
        } else {
          AppendFrame(*r, &buffer);
          ++stats->keys_kept;
        }
      }
      if (buffer.size() >= (1u << 20)) {
        if (absl::Status st = flush(); !st.ok()) return fail(st);
      }
    }
  }
  JournalRecord counters;
  counters.type = RecordType::kCounters;
  counters.time = last_time;
  counters.sequence_before = last_sequence;
  counters.sequence_after = last_sequence;
  counters.next_local_id = next_local_id;
  AppendFrame(counters, &buffer);
  if (absl::Status st = flush(); !st.ok()) return fail(st);
  if (absl::Status st = (*out)->Sync(); !st.ok()) return fail(st);
  if (absl::Status st = (*out)->Close(); !st.ok()) return fail(st);
  if (absl::Status st = env->Rename(tmp, PathIn(dir, name)); !st.ok()) return fail(st);
  // In place from here on (a failure below is still reported): what it
  // dropped is said even then.
  stats->snapshot_number = upto;
  stats->auctions_dropped = settled.size();
  stats->dropped.reserve(settled.size());
  for (const auto& [id, at] : settled) stats->dropped.push_back(id);
  if (absl::Status st = env->SyncDir(dir); !st.ok()) return st;

  // The snapshot is durable: what it covers can go.
  for (uint64_t n : listing->journals) {
    if (n < upto && env->Remove(PathIn(dir, JournalFileName(n))).ok()) ++stats->files_removed;
  }
  for (uint64_t s : listing->snapshots) {
    if (s < upto && env->Remove(PathIn(dir, SnapshotFileName(s))).ok()) ++stats->files_removed;
  }
  return env->SyncDir(dir);
}

}  // namespace gavel
