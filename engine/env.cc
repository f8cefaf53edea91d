// Env::Default(): POSIX files. Every error names the path and errno's text.
#include "engine/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace gavel {
namespace {

absl::Status PosixError(absl::string_view what, const std::string& path, int err) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  // `size`: the file's size when opened; appends go after it.
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), end_(size) {}
  ~PosixWritableFile() override { Close().IgnoreError(); }

  // pwrite at the end of what was appended rather than O_APPEND, since a
  // reserved file's size is past it.
  absl::Status Append(absl::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(end_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
      end_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  bool Reserve(uint64_t bytes) override {
    if (bytes <= std::max(end_, reserved_)) return true;
    if (::fallocate(fd_, 0, 0, static_cast<off_t>(bytes)) != 0) {
      // It may have allocated part of the room (ENOSPC) and grown the file:
      // give that back, so that the file is as it was.
      struct stat st;
      if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) > end_) {
        if (::ftruncate(fd_, static_cast<off_t>(std::max(end_, reserved_))) != 0) {
          reserved_ = static_cast<uint64_t>(st.st_size);  // Close cuts it then
        }
      }
      return false;
    }
    reserved_ = bytes;
    return true;
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return PosixError("fdatasync", path_, errno);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    const int fd = fd_;
    fd_ = -1;
    absl::Status status;
    if (reserved_ > end_ && ::ftruncate(fd, static_cast<off_t>(end_)) != 0) {
      status = PosixError("truncate", path_, errno);
    }
    if (::close(fd) != 0 && status.ok()) status = PosixError("close", path_, errno);
    return status;
  }

 private:
  const std::string path_;
  int fd_;
  uint64_t end_;           // offset just past the appended bytes
  uint64_t reserved_ = 0;  // the size Reserve gave the file (0: none)
};

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenAppendable(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return PosixError("stat", path, err);
    }
    return std::make_unique<PosixWritableFile>(path, fd, static_cast<uint64_t>(st.st_size));
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    std::string out;
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return PosixError("read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  absl::Status Truncate(const std::string& path, uint64_t size) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    absl::Status status;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = PosixError("truncate", path, errno);
    } else if (::fsync(fd) != 0) {
      status = PosixError("fsync", path, errno);
    }
    ::close(fd);
    return status;
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename", absl::StrCat(from, " to ", to), errno);
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("remove", path, errno);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("list", dir, errno);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      const absl::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
  }

  absl::Status CreateDir(const std::string& dir) override {
    // Creates each missing component in turn.
    for (size_t i = 1; i <= dir.size(); ++i) {
      if (i != dir.size() && dir[i] != '/') continue;
      const std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
        return PosixError("create directory", part, errno);
      }
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return PosixError("create directory", dir, errno);
    if (!S_ISDIR(st.st_mode)) return PosixError("create directory", dir, ENOTDIR);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("open directory", dir, errno);
    absl::Status status;
    if (::fsync(fd) != 0) status = PosixError("fsync directory", dir, errno);
    ::close(fd);
    return status;
  }
};

}  // namespace

Env* Env::Default() {
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace gavel
