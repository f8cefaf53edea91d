// WatchAuction: one server-streaming reactor per watcher, fed by the shard
// through a bounded SPSC queue, so that a slow watcher never slows a shard.
//
// Thread safety / invariants:
// - The shard thread is the only producer: Offer() pushes into `queue_`.
// - The writer token (`token_`, server/write_token.h): its holder (the
//   shard after a push, or gRPC's thread in OnCancel or OnWriteDone) owns
//   the consumer side of `queue_` and the right to call StartWrite or
//   Finish. Before letting it go the holder re-checks the queue and the
//   finish flags, so an event pushed during the hand-over is never stranded.
// - gRPC allows one outstanding write; the token guarantees it.
// - Lifetime: the reactor owns itself through `self_` until OnDone; the
//   shard holds another shared_ptr while it is subscribed, so the object
//   outlives whichever side lets go last. Once done, Offer returns false
//   and the shard drops it.
#ifndef GAVEL_SERVER_WATCH_H_
#define GAVEL_SERVER_WATCH_H_

#include <atomic>
#include <memory>

#include "engine/shard.h"
#include "engine/spsc_ring.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/write_token.h"

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
  explicit WatchReactor(const PrincipalNames* names);
  void TryWrite();
  // REQUIRES: writer token held.
  void WriteNext();

  const PrincipalNames* const names_;
  std::shared_ptr<WatchReactor> self_;
  SpscRing<AuctionEvent> queue_{kQueueCapacity};
  WriteToken token_;
  std::atomic<bool> finish_claimed_{false};
  std::atomic<bool> finish_requested_{false};
  std::atomic<bool> cancelled_{false};
  grpc::Status finish_status_;  // written before finish_requested_ (release)
  bool closed_written_ = false;  // token holder only
  v1::AuctionEvent message_;     // token holder only; alive during the write
};

}  // namespace gavel

#endif  // GAVEL_SERVER_WATCH_H_
