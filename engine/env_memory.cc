#include "engine/env_memory.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gavel {

class MemEnv::File final : public WritableFile {
 public:
  File(MemEnv* env, std::string path, std::shared_ptr<FileData> data)
      : env_(env), path_(std::move(path)), data_(std::move(data)) {}

  absl::Status Append(absl::string_view bytes) override {
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("append to closed ", path_));
    data_->data.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  }
  bool Reserve(uint64_t bytes) override {
    if (closed_) return false;
    data_->reserved = std::max(data_->reserved, bytes);
    return true;
  }
  absl::Status Sync() override {
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("sync of closed ", path_));
    if (absl::Status st = env_->MaybeFailSync(absl::StrCat("fdatasync ", path_)); !st.ok()) {
      return st;
    }
    data_->synced = data_->data.size();
    return absl::OkStatus();
  }
  absl::Status Close() override {
    if (!closed_) data_->reserved = 0;  // the unwritten room is cut off
    closed_ = true;
    return absl::OkStatus();
  }

 private:
  MemEnv* const env_;
  const std::string path_;
  const std::shared_ptr<FileData> data_;
  bool closed_ = false;
};

std::string MemEnv::DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

absl::Status MemEnv::MaybeFailSync(const std::string& what) {
  while (syncs_stalled_.load(std::memory_order_acquire)) absl::SleepFor(absl::Milliseconds(1));
  sync_count_.fetch_add(1, std::memory_order_acq_rel);
  int64_t left = syncs_until_failure_.load(std::memory_order_acquire);
  if (left < 0) return absl::OkStatus();
  if (left == 0) return absl::InternalError(absl::StrCat(what, ": Input/output error (injected)"));
  syncs_until_failure_.store(left - 1, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemEnv::OpenAppendable(const std::string& path) {
  if (dirs_.count(DirOf(path)) == 0) {
    return absl::NotFoundError(absl::StrCat("open ", path, ": No such file or directory"));
  }
  std::shared_ptr<FileData>& data = files_[path];
  if (data == nullptr) data = std::make_shared<FileData>();
  if (data->reserved > data->data.size()) {
    // As with a POSIX file, the reserved zeros are now part of the file, and
    // appends go after them.
    const bool all_synced = data->synced == data->data.size();
    data->data.resize(data->reserved, '\0');
    if (all_synced) data->synced = data->data.size();
    data->reserved = 0;
  }
  return std::make_unique<File>(this, path, data);
}

absl::StatusOr<std::string> MemEnv::ReadFile(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    return absl::NotFoundError(absl::StrCat("open ", path, ": No such file or directory"));
  }
  const FileData& f = *it->second;
  std::string out = f.data;
  if (f.reserved > out.size()) out.resize(f.reserved, '\0');
  return out;
}

absl::Status MemEnv::Truncate(const std::string& path, uint64_t size) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    return absl::NotFoundError(absl::StrCat("open ", path, ": No such file or directory"));
  }
  if (absl::Status st = MaybeFailSync(absl::StrCat("fsync ", path)); !st.ok()) return st;
  FileData& f = *it->second;
  // Like ftruncate(2): shorter cuts, longer extends with zeros (the
  // reserved room, if any, being zeros already).
  f.data.resize(size, '\0');
  f.synced = f.data.size();
  f.reserved = 0;
  return absl::OkStatus();
}

absl::Status MemEnv::Rename(const std::string& from, const std::string& to) {
  auto it = files_.find(from);
  if (it == files_.end()) {
    return absl::NotFoundError(absl::StrCat("rename ", from, " to ", to, ": No such file"));
  }
  std::shared_ptr<FileData> data = it->second;
  files_.erase(it);
  files_[to] = std::move(data);
  return absl::OkStatus();
}

absl::Status MemEnv::Remove(const std::string& path) {
  if (files_.erase(path) == 0) {
    return absl::NotFoundError(absl::StrCat("remove ", path, ": No such file or directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemEnv::ListDir(const std::string& dir) {
  if (dirs_.count(dir) == 0) {
    return absl::NotFoundError(absl::StrCat("list ", dir, ": No such file or directory"));
  }
  std::vector<std::string> names;
  const std::string prefix = dir + "/";
  for (const auto& [path, data] : files_) {
    if (absl::StartsWith(path, prefix) && path.find('/', prefix.size()) == std::string::npos) {
      names.push_back(path.substr(prefix.size()));
    }
  }
  return names;
}

absl::Status MemEnv::CreateDir(const std::string& dir) {
  // Parent directories are modelled as existing and durable.
  dirs_.emplace(dir, true);
  return absl::OkStatus();
}

absl::Status MemEnv::SyncDir(const std::string& dir) {
  if (dirs_.count(dir) == 0) {
    return absl::NotFoundError(absl::StrCat("open directory ", dir, ": No such directory"));
  }
  if (absl::Status st = MaybeFailSync(absl::StrCat("fsync directory ", dir)); !st.ok()) return st;
  // The durable entries of `dir` become the current ones.
  for (auto it = durable_.begin(); it != durable_.end();) {
    it = DirOf(it->first) == dir ? durable_.erase(it) : std::next(it);
  }
  for (const auto& [path, data] : files_) {
    if (DirOf(path) == dir) durable_[path] = data;
  }
  return absl::OkStatus();
}

std::unique_ptr<MemEnv> MemEnv::CrashCopy() const {
  auto copy = std::make_unique<MemEnv>();
  copy->dirs_ = dirs_;
  for (const auto& [path, data] : durable_) {
    auto kept = std::make_shared<FileData>();
    kept->data = data->data.substr(0, data->synced);
    kept->synced = kept->data.size();
    kept->reserved = data->reserved;  // the reservation, like the file, is there
    copy->files_[path] = kept;
    copy->durable_[path] = kept;
  }
  return copy;
}

std::string* MemEnv::MutableContents(const std::string& path) {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second->data;
}

}  // namespace gavel
