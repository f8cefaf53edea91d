#include "server/watch.h"

#include "absl/strings/str_cat.h"
#include "server/convert.h"

namespace gavel {

std::shared_ptr<WatchReactor> WatchReactor::Create(const PrincipalNames* names) {
  std::shared_ptr<WatchReactor> r(new WatchReactor(names));
  r->self_ = r;
  return r;
}

WatchReactor::WatchReactor(const PrincipalNames* names) : names_(names) {}

void WatchReactor::Begin(Subscription subscription) {
  subscription_ = std::move(subscription);
  subscribed_.store(true, std::memory_order_release);
}

bool WatchReactor::Wake() {
  if (token_.done()) return false;
  TryWrite();
  return true;
}

void WatchReactor::Stopping() {
  stopping_.store(true, std::memory_order_seq_cst);
  TryWrite();
}

void WatchReactor::FinishWith(grpc::Status status) {
  // The first reason wins: claiming first makes the write of
  // finish_status_ exclusive; the release store then publishes it.
  if (finish_claimed_.exchange(true, std::memory_order_acq_rel)) return;
  finish_status_ = std::move(status);
  finish_requested_.store(true, std::memory_order_seq_cst);
  TryWrite();
}

void WatchReactor::TryWrite() {
  if (token_.TryAcquire()) WriteNext();
}

void WatchReactor::End(const grpc::Status& status) {
  token_.MarkDone();
  Finish(status);
}

void WatchReactor::WriteNext() {
  for (;;) {
    if (cancelled_.load(std::memory_order_acquire)) return End(grpc::Status::CANCELLED);
    // What the re-check below looks at: only atomics and the feed, never the
    // subscription itself (once the token is released, the next holder may
    // be polling it).
    const EventFeed* waiting_on = nullptr;
    uint64_t cursor = 0;
    const bool subscribed = subscribed_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_acquire)) {
      return End(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          subscribed ? absl::StrCat("the server is shutting down; reconnect with from_sequence=",
                                    subscription_.resume_from(), " to resume")
                     : std::string("the server is shutting down")));
    }
    if (subscribed) {
      AuctionEvent event;
      switch (subscription_.Poll(&event)) {
        case Subscription::Next::kEvent:
          EventToProto(event, *names_, &message_);
          StartWrite(&message_);
          return;  // OnWriteDone continues
        case Subscription::Next::kEnd:
          return End(grpc::Status::OK);
        case Subscription::Next::kBehind:
          return End(grpc::Status(
              grpc::StatusCode::RESOURCE_EXHAUSTED,
              absl::StrCat(
                  subscription_.history_cut()
                      ? absl::StrCat("a watch replays at most ", subscription_.capacity(),
                                     " past events at once, and these were sent")
                      : absl::StrCat("this watcher fell more than ", subscription_.capacity(),
                                     " events behind and was disconnected"),
                  "; reconnect with from_sequence=", subscription_.resume_from(), " to resume")));
        case Subscription::Next::kWait:
          waiting_on = subscription_.feed().get();  // alive as long as this reactor
          cursor = subscription_.cursor();
          break;
      }
    }
    if (finish_requested_.load(std::memory_order_acquire)) return End(finish_status_);
    // News, a subscription or a finish request that raced with the release
    // must not be stranded.
    const bool again = token_.ReleaseThenRecheck([&] {
      return cancelled_.load(std::memory_order_acquire) ||
             stopping_.load(std::memory_order_acquire) ||
             finish_requested_.load(std::memory_order_acquire) ||
             (!subscribed && subscribed_.load(std::memory_order_acquire)) ||
             (waiting_on != nullptr && waiting_on->published() > cursor);
    });
    if (!again) return;
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  if (!ok) return End(grpc::Status::CANCELLED);  // the client went away
  WriteNext();
}

void WatchReactor::OnCancel() {
  cancelled_.store(true, std::memory_order_seq_cst);
  TryWrite();
}

void WatchReactor::OnDone() {
  permit_.Release();
  token_.MarkDone();
  self_.reset();  // the hub may still hold a reference; the last one frees us
}

}  // namespace gavel
