// The most streams of one kind (WatchAuction, BidStream) a server keeps open
// at once, in all and for any one principal. Every open stream holds memory
// (a watcher about 15 KB, mostly gRPC's stream state; a bid stream about
// 140 KB of server RSS, its 56 KiB window of answers included), so without
// a cap a client opening streams in a loop could take all of it, and
// without a cap per principal one token could take every place. A stream
// beyond either cap is refused at once with RESOURCE_EXHAUSTED; the ones
// already open are not touched.
//
// Thread safety: lock-free. The state is `open_` and one count per
// principal, fixed in number when the limit is made (principals are
// interned before the server serves). Any thread takes a place by a
// fetch_add on its principal's count, then on `open_`, and gives back at
// once what went past a cap; a Permit gives both back (fetch_sub) when
// released or destroyed. Relaxed order is enough: the counts guard numbers,
// not memory, and each increment is undone exactly once, by the taker that
// went past a cap or by the Permit that holds it. For a moment a count may
// read over its cap, by as many takers as are about to give their places
// back, and one of those may make another taker be refused just as a place
// came free (it retries, as any refused client does); the streams let in
// never exceed either cap. A place counts a stream until gRPC is done with
// it (OnDone), not until the last shard task holding its reactor has run.
#ifndef GAVEL_SERVER_STREAM_LIMIT_H_
#define GAVEL_SERVER_STREAM_LIMIT_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/types.h"

namespace gavel {

class StreamLimit {
 public:
  struct Options {
    size_t most = 0;                // in all; 0: no cap
    size_t most_per_principal = 0;  // for one principal; 0: no cap
    size_t principals = 0;          // ids 0 .. principals - 1 are counted apart
    // For the refusals' messages: the streams ("watch streams") and the
    // two settings ("--max_watch_streams").
    std::string what;
    std::string flag;
    std::string per_principal_flag;
  };

  explicit StreamLimit(Options options)
      : options_(std::move(options)),
        per_principal_(std::make_unique<std::atomic<size_t>[]>(options_.principals)) {}
  StreamLimit(const StreamLimit&) = delete;
  StreamLimit& operator=(const StreamLimit&) = delete;

  // A place for one stream of one principal, held until Release or
  // destruction.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept
        : limit_(std::exchange(other.limit_, nullptr)), who_(other.who_) {}
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        Release();
        limit_ = std::exchange(other.limit_, nullptr);
        who_ = other.who_;
      }
      return *this;
    }
    ~Permit() { Release(); }
    // Whether a place is held.
    bool held() const { return limit_ != nullptr; }
    // Gives the place back (once; later calls do nothing).
    void Release() {
      if (limit_ != nullptr) limit_->GiveBack(who_);
      limit_ = nullptr;
    }

   private:
    friend class StreamLimit;
    Permit(StreamLimit* limit, PrincipalId who) : limit_(limit), who_(who) {}
    StreamLimit* limit_ = nullptr;
    PrincipalId who_ = kNoPrincipal;
  };

  // A held Permit for a stream of `who`, or an empty one and, in
  // `refusal`, why not (for a person).
  Permit TryTake(PrincipalId who, std::string* refusal) {
    if (std::atomic<size_t>* mine = CountOf(who); mine != nullptr) {
      if (mine->fetch_add(1, std::memory_order_relaxed) >= options_.most_per_principal &&
          options_.most_per_principal != 0) {
        mine->fetch_sub(1, std::memory_order_relaxed);
        *refusal = absl::StrCat("you already have the most ", options_.what,
                                " one principal may have open (", options_.most_per_principal, ", ",
                                options_.per_principal_flag, "); close one first");
        return Permit();
      }
    }
    if (open_.fetch_add(1, std::memory_order_relaxed) >= options_.most && options_.most != 0) {
      GiveBack(who);
      *refusal =
          absl::StrCat("the server already has its most ", options_.what, " open (", options_.most,
                       ", ", options_.flag, "); close one or try again later");
      return Permit();
    }
    return Permit(this, who);
  }

 private:
  std::atomic<size_t>* CountOf(PrincipalId who) {
    return who < options_.principals ? &per_principal_[who] : nullptr;
  }
  // Undoes one taking of a place by `who` (its count and the total).
  void GiveBack(PrincipalId who) {
    if (std::atomic<size_t>* mine = CountOf(who); mine != nullptr) {
      mine->fetch_sub(1, std::memory_order_relaxed);
    }
    open_.fetch_sub(1, std::memory_order_relaxed);
  }

  const Options options_;
  const std::unique_ptr<std::atomic<size_t>[]> per_principal_;
  std::atomic<size_t> open_{0};
};

}  // namespace gavel

#endif  // GAVEL_SERVER_STREAM_LIMIT_H_
