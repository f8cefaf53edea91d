#include "engine/recovery.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/journal_file.h"
#include "engine/journal_record.h"

namespace gavel {
namespace {

class Recovery {
 public:
  Recovery(const RecoveryOptions& options, Engine* engine, PrincipalResolver* principals)
      : options_(options),
        env_(options.env ? options.env : Env::Default()),
        engine_(engine),
        principals_(principals) {}

  absl::StatusOr<RecoveryReport> Run();

 private:
  void Log(const std::string& line) {
    if (options_.log) {
      options_.log(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  // Checks that the first frame is the header of `kind` file `number` of
  // this shard.
  absl::Status CheckHeader(const std::string& path, const ScanResult& scan, FileKind kind,
                           uint64_t number);
  // Why snapshot `path` cannot be used, or OK.
  absl::Status CheckSnapshot(const std::string& path, const ScanResult& scan, uint64_t number);
  // Replays frames [1, end) of a scanned file.
  absl::Status ReplayFrames(const std::string& path, const ScanResult& scan, uint64_t* count);

  const RecoveryOptions& options_;
  Env* const env_;
  Engine* const engine_;
  PrincipalResolver* const principals_;
  RecoveryReport report_;
};

absl::Status Recovery::CheckHeader(const std::string& path, const ScanResult& scan,
                                   FileKind kind, uint64_t number) {
  if (scan.frames.empty()) return absl::DataLossError(absl::StrCat(path, ": no file header"));
  absl::StatusOr<JournalRecord> h = DecodeRecord(scan.frames[0].payload);
  if (!h.ok()) {
    return absl::DataLossError(absl::StrCat(path, " offset 0: ", h.status().message()));
  }
  if (h->type != RecordType::kFileHeader || h->file_kind != kind || h->file_number != number) {
    return absl::DataLossError(
        absl::StrCat(path, ": the file header does not match the file's name"));
  }
  if (h->shard_index != options_.shard_index || h->shard_count != options_.shard_count) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " was written by shard ", h->shard_index, " of ", h->shard_count,
        "; this server runs shard ", options_.shard_index, " of ", options_.shard_count,
        ": start it with --shards=", h->shard_count, " (auctions are placed by id modulo the "
        "shard count, so the count of a data directory cannot change)"));
  }
  return absl::OkStatus();
}

absl::Status Recovery::CheckSnapshot(const std::string& path, const ScanResult& scan,
                                     uint64_t number) {
  if (scan.damaged) {
    return absl::DataLossError(absl::StrCat(path, " is damaged at offset ", scan.valid_end, " (",
                                            scan.damage, ")"));
  }
  if (absl::Status st = CheckHeader(path, scan, FileKind::kSnapshot, number); !st.ok()) return st;
  if (!EndsWithCounters(scan)) {
    return absl::DataLossError(absl::StrCat(path, " does not end with its counters record"));
  }
  return absl::OkStatus();
}

absl::Status Recovery::ReplayFrames(const std::string& path, const ScanResult& scan,
                                    uint64_t* count) {
  for (size_t i = 1; i < scan.frames.size(); ++i) {
    const Frame& f = scan.frames[i];
    absl::StatusOr<JournalRecord> r = DecodeRecord(f.payload);
    if (!r.ok()) {
      return absl::DataLossError(
          absl::StrCat(path, " offset ", f.offset, ": ", r.status().message()));
    }
    if (r->type == RecordType::kFileHeader) {
      return absl::DataLossError(absl::StrCat(path, " offset ", f.offset, ": a second header"));
    }
    if (!r->principal_name.empty()) r->principal = principals_->Resolve(r->principal_name);
    if (absl::Status st = engine_->Replay(*r); !st.ok()) {
      return absl::InternalError(absl::StrCat(path, " offset ", f.offset,
                                              ": the record does not replay: ", st.message()));
    }
    ++*count;
  }
  return absl::OkStatus();
}

absl::StatusOr<RecoveryReport> Recovery::Run() {
  const absl::Time started = absl::Now();
  const std::string& dir = options_.dir;
  if (absl::Status st = env_->CreateDir(dir); !st.ok()) return st;
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> journals, snapshots;
  for (const std::string& name : *names) {
    uint64_t n = 0;
    if (ParseJournalFileName(name, &n)) {
      journals.push_back(n);
    } else if (ParseSnapshotFileName(name, &n)) {
      snapshots.push_back(n);
    } else if (absl::EndsWith(name, ".tmp")) {
      // An unfinished snapshot: never renamed into place, so never relied on.
      env_->Remove(PathIn(dir, name)).IgnoreError();
    }
  }
  std::sort(journals.begin(), journals.end());
  std::sort(snapshots.begin(), snapshots.end());

  // The newest usable snapshot.
  uint64_t base = 0;
  std::string snapshot_data;
  ScanResult snapshot_scan;
  absl::Status snapshot_problem;
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    const std::string path = PathIn(dir, SnapshotFileName(*it));
    absl::StatusOr<std::string> data = env_->ReadFile(path);
    if (!data.ok()) return data.status();
    snapshot_data = *std::move(data);
    ScanResult scan = ScanFrames(snapshot_data);  // views into snapshot_data
    absl::Status st = CheckSnapshot(path, scan, *it);
    if (st.code() == absl::StatusCode::kFailedPrecondition) return st;
    if (!st.ok()) {
      Log(absl::StrCat("recovery: ", st.message(), "; trying an older snapshot"));
      if (snapshot_problem.ok()) snapshot_problem = st;
      continue;
    }
    base = *it;
    snapshot_scan = std::move(scan);
    break;
  }
  if (base == 0 && !snapshot_problem.ok() && (journals.empty() || journals.front() != 1)) {
    return absl::DataLossError(absl::StrCat(
        "no usable snapshot in ", dir, " and the journal does not start at file 1: ",
        snapshot_problem.message()));
  }

  // The journal files after it must all be there.
  std::vector<uint64_t> replay;
  for (uint64_t n : journals) {
    if (n >= (base == 0 ? 1 : base)) replay.push_back(n);
  }
  const uint64_t first = base == 0 ? 1 : base;
  for (size_t i = 0; i < replay.size(); ++i) {
    if (replay[i] != first + i) {
      return absl::DataLossError(absl::StrCat(
          "journal file ", PathIn(dir, JournalFileName(first + i)), " is missing (",
          replay.size() - i, " later file(s) exist)",
          snapshot_problem.ok() ? "" : absl::StrCat("; ", snapshot_problem.message())));
    }
  }

  if (base != 0) {
    report_.snapshot_number = base;
    if (absl::Status st = ReplayFrames(PathIn(dir, SnapshotFileName(base)), snapshot_scan,
                                       &report_.snapshot_records);
        !st.ok()) {
      return st;
    }
    snapshot_data.clear();
  }

  bool last_removed = false;
  for (size_t i = 0; i < replay.size(); ++i) {
    const bool last = i + 1 == replay.size();
    const std::string path = PathIn(dir, JournalFileName(replay[i]));
    absl::StatusOr<std::string> data = env_->ReadFile(path);
    if (!data.ok()) return data.status();
    ScanResult scan = ScanFrames(*data);
    if (scan.damaged) {
      if (!last) {
        return absl::DataLossError(absl::StrCat(
            "journal ", path, " is damaged at offset ", scan.valid_end, " (", scan.damage,
            "); it is not the newest journal file, so the records after the damage were "
            "acknowledged: refusing to start"));
      }
      if (scan.next_valid_offset >= 0) {
        return absl::DataLossError(absl::StrCat(
            "journal ", path, " is damaged in the middle: the record at offset ",
            scan.valid_end, " is corrupt (", scan.damage, ") but a valid record follows at offset ",
            scan.next_valid_offset, "; refusing to start, since truncating would drop "
            "acknowledged records"));
      }
    }
    if (scan.frames.empty()) {
      // Only in the newest file: the crash came while it was being created,
      // before its header was durable. It holds no record.
      if (!last) return absl::DataLossError(absl::StrCat(path, ": no file header"));
      Log(absl::StrCat("recovery: journal ", path, " has no complete header (", scan.data_end,
                       " byte(s) written): it was being created by the crash; removed"));
      if (absl::Status st = env_->Remove(path); !st.ok()) return st;
      last_removed = true;
      ++report_.journal_files;
      continue;
    }
    if (absl::Status st = CheckHeader(path, scan, FileKind::kJournal, replay[i]); !st.ok()) {
      return st;
    }
    if (!last && !EndsWithCounters(scan)) {
      // Rolled files end with their counters (the zeros of a reserved file
      // may follow, if the crash came before its cut reached the disk).
      // Without it, records at its end are missing.
      return absl::DataLossError(
          absl::StrCat("journal ", path,
                       " does not end with its counters record (its last valid record "
                       "ends at offset ",
                       scan.valid_end,
                       "); it is not the newest journal file, so records "
                       "at its end were acknowledged and are missing: refusing to start"));
    }
    if (absl::Status st = ReplayFrames(path, scan, &report_.journal_records); !st.ok()) return st;
    ++report_.journal_files;
    if (scan.damaged) {
      report_.torn_tail = true;
      report_.torn_tail_file = path;
      report_.torn_tail_offset = scan.valid_end;
      report_.torn_tail_bytes = scan.data_end - scan.valid_end;
      Log(absl::StrCat("recovery: journal ", path, " ends in a torn record at offset ",
                       scan.valid_end, " (", scan.damage, "): replay stops there; ",
                       report_.torn_tail_bytes,
                       " byte(s) of an unacknowledged write are discarded"));
    }
    if (last && scan.valid_end < data->size()) {
      // A torn record, or the unwritten room of a reserved file (zeros), or
      // both: cut them off, so that the Counters record below follows the
      // last record.
      if (absl::Status st = env_->Truncate(path, scan.valid_end); !st.ok()) return st;
    }
  }

  // Close the newest file with the counters: every file is then complete
  // (compactable), and the journal continues in a new one.
  report_.next_file_number = replay.empty() ? first : replay.back() + 1;
  if (!replay.empty() && last_removed) report_.next_file_number = replay.back();
  if (!replay.empty() && !last_removed) {
    const std::string path = PathIn(dir, JournalFileName(replay.back()));
    absl::StatusOr<std::unique_ptr<WritableFile>> file = env_->OpenAppendable(path);
    if (!file.ok()) return file.status();
    std::string counters;
    AppendFrame(engine_->CountersRecord(), &counters);
    if (absl::Status st = (*file)->Append(counters); !st.ok()) return st;
    if (absl::Status st = (*file)->Sync(); !st.ok()) return st;
    if (absl::Status st = (*file)->Close(); !st.ok()) return st;
  }

  // What the restored state no longer needs.
  for (uint64_t n : journals) {
    if (n < first) env_->Remove(PathIn(dir, JournalFileName(n))).IgnoreError();
  }
  for (uint64_t s : snapshots) {
    if (s != base) env_->Remove(PathIn(dir, SnapshotFileName(s))).IgnoreError();
  }
  if (absl::Status st = env_->SyncDir(dir); !st.ok()) return st;
  report_.elapsed = absl::Now() - started;
  return report_;
}

}  // namespace

absl::StatusOr<RecoveryReport> Recover(const RecoveryOptions& options, Engine* engine,
                                       PrincipalResolver* principals) {
  return Recovery(options, engine, principals).Run();
}

}  // namespace gavel
