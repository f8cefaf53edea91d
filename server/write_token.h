// The writer token of a gRPC streaming reactor (WatchReactor,
// BidStreamReactor). gRPC allows one outstanding write and one Finish, so
// only the thread holding the token may call StartWrite or Finish.
//
// Thread safety / invariants:
// - Any thread that has just published work for the stream (an event in
//   the feed, an answer ready, a finish or cancel flag) calls TryAcquire; on
//   true it holds the token and writes.
// - The holder, finding nothing more to write, calls ReleaseThenRecheck
//   with a predicate that looks for published work; it stays the holder
//   only if that finds some and it wins the token back. A holder that
//   finishes the stream calls MarkDone instead: the token is never taken
//   again.
// - Why no work is stranded: each side stores, then loads the other's
//   value (a publisher: its work, then the token; the holder: the token,
//   then the work). A seq_cst fence sits between the store and the load on
//   each side, so at least one of the two sees the other's store. (Without
//   the fences a failed CAS is only a load, and the work's release store and
//   the re-check's acquire load do not order it, on a weakly ordered CPU.)
// - The CAS is acq_rel and the release of the token is a release store, so
//   a new holder sees everything the previous one did.
#ifndef GAVEL_SERVER_WRITE_TOKEN_H_
#define GAVEL_SERVER_WRITE_TOKEN_H_

#include <atomic>
#include <cstdint>

namespace gavel {

class WriteToken {
 public:
  // Any thread, after publishing work. True: the caller now holds the token.
  bool TryAcquire() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return Take();
  }

  // REQUIRES: the token held. Gives it up, then takes it back if `more()`
  // finds work published meanwhile. True: the caller holds it again.
  template <typename More>
  bool ReleaseThenRecheck(More more) {
    state_.store(kIdle, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return more() && Take();
  }

  // REQUIRES: the token held (or the stream over). No one takes it again.
  void MarkDone() { state_.store(kDone, std::memory_order_release); }
  bool done() const { return state_.load(std::memory_order_acquire) == kDone; }

 private:
  enum : uint32_t { kIdle = 0, kWriting = 1, kDone = 2 };

  bool Take() {
    uint32_t idle = kIdle;
    return state_.compare_exchange_strong(idle, kWriting, std::memory_order_acq_rel);
  }

  std::atomic<uint32_t> state_{kIdle};
};

}  // namespace gavel

#endif  // GAVEL_SERVER_WRITE_TOKEN_H_
