// MemEnv: an Env held in memory, for tests of the journal and of recovery.
// It models what a crash keeps: file contents up to the last successful
// Sync (then the zeros of any reserved room), and the directory entries as of the last SyncDir of
// their directory (creations, renames and removals since then are lost). Faults can be injected: a
// failing fsync, and direct edits of a file's bytes (torn or corrupt records).
//
// Thread safety: not thread-safe, except the fault knobs (atomics). Use one
// MemEnv from one thread at a time, with a happens-before edge between users
// (a thread's start or join).
#ifndef GAVEL_ENGINE_ENV_MEMORY_H_
#define GAVEL_ENGINE_ENV_MEMORY_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/env.h"

namespace gavel {

class MemEnv final : public Env {
 public:
  MemEnv() = default;

  absl::StatusOr<std::unique_ptr<WritableFile>> OpenAppendable(const std::string& path) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Remove(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;

  // A new MemEnv holding what a crash right now would leave on disk.
  std::unique_ptr<MemEnv> CrashCopy() const;
  // Every syncs after the next `n` succeeding fails (file and directory
  // syncs alike); negative: none fails (the default).
  void FailSyncsAfter(int64_t n) { syncs_until_failure_.store(n, std::memory_order_release); }
  int64_t sync_count() const { return sync_count_.load(std::memory_order_acquire); }
  // While stalled, every sync waits (a disk that stops answering); syncs go
  // on once it is released. For tests of backpressure.
  void StallSyncs(bool stalled) { syncs_stalled_.store(stalled, std::memory_order_release); }

  // Test access to a file's bytes; null when it does not exist.
  std::string* MutableContents(const std::string& path);
  bool Exists(const std::string& path) const { return files_.count(path) > 0; }

 private:
  struct FileData {
    std::string data;
    size_t synced = 0;  // bytes a crash keeps
    // WritableFile::Reserve: the file reads as `data` then zeros up to this
    // size (0: not reserved). Modelled as durable at once, like fallocate
    // followed by the header's fdatasync in Journal::OpenFile.
    uint64_t reserved = 0;
  };
  class File;
  absl::Status MaybeFailSync(const std::string& what);
  static std::string DirOf(const std::string& path);

  std::map<std::string, std::shared_ptr<FileData>> files_;    // path -> file, as seen now
  std::map<std::string, std::shared_ptr<FileData>> durable_;  // as a crash would leave it
  std::map<std::string, bool> dirs_;                          // dir -> its creation is durable
  std::atomic<int64_t> syncs_until_failure_{-1};
  std::atomic<int64_t> sync_count_{0};
  std::atomic<bool> syncs_stalled_{false};
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_ENV_MEMORY_H_
