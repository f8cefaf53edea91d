// The journal's file system, behind an interface (STYLE.md 12, after
// LevelDB's Env): production passes Env::Default() (POSIX files); tests pass
// an in-memory Env (engine/env_memory.h) that can fail an fsync, tear a write
// or drop what was never synced.
//
// Thread safety: Env::Default() and its files may be used from any thread;
// one WritableFile is used by one thread at a time. Paths are plain strings
// ("DIR/NAME"); every method returns a status naming the path on failure.
#ifndef GAVEL_ENGINE_ENV_H_
#define GAVEL_ENGINE_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gavel {

// A file written from its end.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends `data` (one write; the whole of it or an error) right after the
  // bytes appended so far.
  virtual absl::Status Append(absl::string_view data) = 0;
  // Reserves disk space for the file to grow to `bytes` (fallocate(2)): its
  // size becomes `bytes`, zeros past what was appended, and Append goes on
  // writing right after the appended bytes. Appends inside the reserved room
  // then change no file size, so their Sync need not update the inode's size
  // (ext4 still records each newly written block of the reserved extent).
  // On ext4 here, a 256-byte append + fdatasync: p50 117 instead of 174 us
  // and 43 instead of 66 us of CPU; with 2048 bytes no faster, 10 us less
  // CPU (BENCHMARKS.md, fourth round). Readers see the zero
  // tail (ScanFrames takes it as the end of the records); Close cuts the file
  // back to what was appended. Best effort: false when the file system cannot
  // reserve, and the file is then as it was.
  virtual bool Reserve(uint64_t bytes) = 0;
  // Makes everything appended so far durable (fdatasync). After a failure
  // the file's state on disk is unknown: the caller must not retry and must
  // not trust any write since the last successful Sync.
  virtual absl::Status Sync() = 0;
  // Closes without syncing (cutting off any reserved room that was not
  // written; that cut is not synced either). Idempotent.
  virtual absl::Status Close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never null, never deleted.
  static Env* Default();

  // Opens `path` for appending after its current contents, creating it
  // (empty) when it does not exist.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> OpenAppendable(const std::string& path) = 0;
  // The whole contents of `path`. NotFound when it does not exist.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Cuts `path` to `size` bytes and syncs it.
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  // Atomically replaces `to` by `from` (rename(2)). Not durable until SyncDir.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Deletes a file. Not durable until SyncDir.
  virtual absl::Status Remove(const std::string& path) = 0;
  // The names (not paths) of the entries of `dir`, in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and its missing parents; OK when it exists.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  // Makes the creations, renames and removals in `dir` durable (fsync of the
  // directory).
  virtual absl::Status SyncDir(const std::string& dir) = 0;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_ENV_H_
