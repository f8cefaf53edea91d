// WatchAuction: one server-streaming reactor per watcher. It reads its
// Subscription (history, then the auction's EventFeed) on whichever thread
// holds its writer token: gRPC's after a write, or the feed hub's when the
// feed has news. The shard only publishes each event once into the feed,
// so neither a slow watcher nor many of them slow a shard.
//
// Thread safety / invariants:
// - `subscription_` is written once, on the shard thread (Begin), before
//   `subscribed_` is set (release); from then on only the token holder
//   touches it (it checks `subscribed_` with acquire first). The caller then
//   adds the reactor to the hub, whose Wake starts the first write.
// - The writer token (`token_`, server/write_token.h): its holder (the
//   hub's thread in Wake, or gRPC's in OnCancel or OnWriteDone) reads the
//   subscription and may call StartWrite or Finish. Before letting it go
//   the holder re-checks the subscription and the finish flags, so news
//   published during the hand-over is never stranded.
// - gRPC allows one outstanding write; the token guarantees it.
// - Lifetime: the reactor owns itself through `self_` until OnDone; the hub
//   holds another shared_ptr while the reactor follows a feed, so the object
//   outlives whichever side lets go last. Once done, Wake returns false and
//   the hub drops it.
#ifndef GAVEL_SERVER_WATCH_H_
#define GAVEL_SERVER_WATCH_H_

#include <atomic>
#include <memory>

#include "engine/engine.h"
#include "engine/event_feed.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/stream_limit.h"
#include "server/write_token.h"

namespace gavel {

class WatchReactor final : public grpc::ServerWriteReactor<v1::AuctionEvent>, public FeedReader {
 public:
  // Creates a reactor that owns itself until OnDone.
  static std::shared_ptr<WatchReactor> Create(const PrincipalNames* names);

  // Shard thread, once: hands the reactor its subscription. The caller then
  // adds the reactor to the hub (with the shared_ptr it holds, never
  // self_, which OnDone may be resetting at the same moment), whose first
  // Wake starts the stream.
  void Begin(Subscription subscription);
  // Any thread: ends the stream with `status` (before Begin: instead of it).
  void FinishWith(grpc::Status status);
  // Before Begin: the stream's place under --max_watch_streams, given back
  // in OnDone.
  void Hold(StreamLimit::Permit permit) { permit_ = std::move(permit); }

  // The hub's thread.
  bool Wake() override;
  bool Alive() const override { return !token_.done(); }
  // Ends the stream with UNAVAILABLE and the sequence to resume from.
  void Stopping() override;

  // gRPC.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  explicit WatchReactor(const PrincipalNames* names);
  void TryWrite();
  // REQUIRES: writer token held.
  void WriteNext();
  // REQUIRES: writer token held. Ends the stream.
  void End(const grpc::Status& status);

  const PrincipalNames* const names_;
  std::shared_ptr<WatchReactor> self_;
  WriteToken token_;
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> finish_claimed_{false};
  std::atomic<bool> finish_requested_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> stopping_{false};
  Subscription subscription_;   // see the invariants above
  grpc::Status finish_status_;  // written before finish_requested_ (release)
  v1::AuctionEvent message_;    // token holder only; alive during the write
  StreamLimit::Permit permit_;  // set before the stream starts; released in OnDone
};

}  // namespace gavel

#endif  // GAVEL_SERVER_WATCH_H_
