// WatchAuction: one server-streaming reactor per watcher, fed by the shard
// through a bounded SPSC queue, so that a slow watcher never slows a shard.
//
// Thread safety / invariants:
// - The shard thread is the only producer: Offer() pushes into `queue_`.
// - The "writer token" is the state word `state_` (kIdle / kWriting /
//   kDone). Whoever moves it kIdle -> kWriting (the shard after a push, or
//   gRPC's thread in OnCancel) owns the consumer side of `queue_` and the
//   right to call StartWrite or Finish, until it stores kIdle again (or
//   kDone). The CAS is acq_rel, so each new token holder sees the previous
//   holder's pops. After storing kIdle the holder re-checks the queue and the
//   finish flags, so an event pushed during the hand-over is never stranded.
//   That is a store-then-load on each side (the holder: kIdle, then the
//   queue's tail; a producer: the tail or a flag, then the CAS on the
//   state), which is only ordered by seq_cst fences: one sits between the
//   holder's kIdle and its re-check, and one at the start of TryWrite. (The
//   queue publishes with release stores and a failed CAS is only a load, so
//   without the fences both sides could read the old values on a weakly
//   ordered processor and the event would wait for the next one.)
// - gRPC allows one outstanding write; the token guarantees it.
// - Lifetime: the reactor owns itself through `self_` until OnDone; the
//   shard holds another shared_ptr while it is subscribed, so the object
//   outlives whichever side lets go last. After kDone, Offer returns false
//   and the shard drops it.
#ifndef GAVEL_SERVER_WATCH_H_
#define GAVEL_SERVER_WATCH_H_

#include <atomic>
#include <memory>

#include "engine/shard.h"
#include "engine/spsc_ring.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace gavel {

class WatchReactor final : public grpc::ServerWriteReactor<v1::AuctionEvent>,
                           public EventSubscriber {
 public:
  static constexpr size_t kQueueCapacity = 4096;

  // Creates a reactor that owns itself until OnDone.
  static std::shared_ptr<WatchReactor> Create(const PrincipalNames* names);

  // Shard thread.
  bool Offer(const AuctionEvent& event) override;
  void Dropped(Sequence resume_from) override;
  // Any thread: ends the stream with `status` once queued events are sent.
  void FinishWith(grpc::Status status);

  // gRPC.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  enum : uint32_t { kIdle = 0, kWriting = 1, kDone = 2 };
  explicit WatchReactor(const PrincipalNames* names);
  void TryWrite();
  // REQUIRES: writer token held.
  void WriteNext();

  const PrincipalNames* const names_;
  std::shared_ptr<WatchReactor> self_;
  SpscRing<AuctionEvent> queue_{kQueueCapacity};
  std::atomic<uint32_t> state_{kIdle};
  std::atomic<bool> finish_claimed_{false};
  std::atomic<bool> finish_requested_{false};
  std::atomic<bool> cancelled_{false};
  grpc::Status finish_status_;  // written before finish_requested_ (release)
  bool closed_written_ = false;  // token holder only
  v1::AuctionEvent message_;     // token holder only; alive during the write
};

}  // namespace gavel

#endif  // GAVEL_SERVER_WATCH_H_
