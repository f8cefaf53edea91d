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

bool WatchReactor::Offer(const AuctionEvent& event) {
  if (token_.done() || cancelled_.load(std::memory_order_acquire)) {
    return false;
  }
  if (!queue_.TryPush(event)) return false;
  TryWrite();
  return true;
}

void WatchReactor::Dropped(Sequence resume_from) {
  FinishWith(grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("this watcher fell ", kQueueCapacity,
                   " events behind and was disconnected; reconnect with from_sequence=",
                   resume_from, " to resume")));
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

void WatchReactor::WriteNext() {
  for (;;) {
    if (cancelled_.load(std::memory_order_acquire)) {
      token_.MarkDone();
      Finish(grpc::Status::CANCELLED);
      return;
    }
    AuctionEvent event;
    if (!closed_written_ && queue_.TryPop(&event)) {
      EventToProto(event, *names_, &message_);
      closed_written_ = event.kind == AuctionEvent::Kind::kClosed;
      StartWrite(&message_);
      return;  // OnWriteDone continues
    }
    if (closed_written_) {
      token_.MarkDone();
      Finish(grpc::Status::OK);
      return;
    }
    if (finish_requested_.load(std::memory_order_acquire)) {
      token_.MarkDone();
      Finish(finish_status_);
      return;
    }
    // A push or a finish request that raced with the release must not be
    // stranded.
    const bool again = token_.ReleaseThenRecheck([this] {
      return !queue_.Empty() || finish_requested_.load(std::memory_order_acquire) ||
             cancelled_.load(std::memory_order_acquire);
    });
    if (!again) return;
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The client went away.
    token_.MarkDone();
    Finish(grpc::Status::CANCELLED);
    return;
  }
  WriteNext();
}

void WatchReactor::OnCancel() {
  cancelled_.store(true, std::memory_order_seq_cst);
  TryWrite();
}

void WatchReactor::OnDone() {
  token_.MarkDone();
  self_.reset();  // the shard may still hold a reference; the last one frees us
}

}  // namespace gavel
