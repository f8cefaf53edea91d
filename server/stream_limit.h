// The most streams of one kind (WatchAuction, BidStream) a server keeps open
// at once. Every open stream holds memory (a watcher about 15 KB, mostly
// gRPC's stream state; a bid stream about 140 KB of server RSS, its 56 KiB
// window of answers included), so without a cap
// a client opening streams in a loop could take all of it. A stream beyond
// the cap is refused at once with RESOURCE_EXHAUSTED; the ones already open
// are not touched.
//
// Thread safety: lock-free. `open_` is the only state. Any thread takes a
// place with a fetch_add and gives it back at once if that went past the
// cap; a Permit gives its place back (fetch_sub) when released or
// destroyed. Relaxed order is enough: the count guards a number, not
// memory, and each increment is undone exactly once by the Permit that
// made it. For a moment the count may read over `most`, by as many takers
// as are about to give their places back, and one of those may make
// another taker be refused just as a place came free (it retries, as any
// refused client does); the streams let in never exceed `most`. A place
// counts a stream until gRPC is done with it (OnDone), not until the last
// shard task holding its reactor has run.
#ifndef GAVEL_SERVER_STREAM_LIMIT_H_
#define GAVEL_SERVER_STREAM_LIMIT_H_

#include <atomic>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace gavel {

class StreamLimit {
 public:
  // `most` 0: no cap. `what` names the streams and `flag` the setting, for
  // the refusal's message ("watch streams", "--max_watch_streams").
  StreamLimit(size_t most, std::string what, std::string flag)
      : most_(most), what_(std::move(what)), flag_(std::move(flag)) {}
  StreamLimit(const StreamLimit&) = delete;
  StreamLimit& operator=(const StreamLimit&) = delete;

  // A place for one stream, held until Release or destruction.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : limit_(other.limit_) { other.limit_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        Release();
        limit_ = other.limit_;
        other.limit_ = nullptr;
      }
      return *this;
    }
    ~Permit() { Release(); }
    // Whether a place is held.
    bool held() const { return limit_ != nullptr; }
    // Gives the place back (once; later calls do nothing).
    void Release() {
      if (limit_ != nullptr) limit_->open_.fetch_sub(1, std::memory_order_relaxed);
      limit_ = nullptr;
    }

   private:
    friend class StreamLimit;
    explicit Permit(StreamLimit* limit) : limit_(limit) {}
    StreamLimit* limit_ = nullptr;
  };

  // A held Permit, or an empty one when `most` streams are open.
  Permit TryTake() {
    if (open_.fetch_add(1, std::memory_order_relaxed) >= most_ && most_ != 0) {
      open_.fetch_sub(1, std::memory_order_relaxed);
      return Permit();
    }
    return Permit(this);
  }

  // The refusal of a stream past the cap, for a person.
  std::string RefusalMessage() const {
    return absl::StrCat("the server already has its most ", what_, " open (", most_, ", ", flag_,
                        "); close one or try again later");
  }

  size_t open() const { return open_.load(std::memory_order_relaxed); }
  size_t most() const { return most_; }

 private:
  const size_t most_;
  const std::string what_;
  const std::string flag_;
  std::atomic<size_t> open_{0};
};

}  // namespace gavel

#endif  // GAVEL_SERVER_STREAM_LIMIT_H_
