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
  if (state_.load(std::memory_order_acquire) == kDone ||
      cancelled_.load(std::memory_order_acquire)) {
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
  // Orders the caller's push or flag before the CAS's read (see the header).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint32_t idle = kIdle;
  if (state_.compare_exchange_strong(idle, kWriting, std::memory_order_acq_rel)) WriteNext();
}

void WatchReactor::WriteNext() {
  for (;;) {
    if (cancelled_.load(std::memory_order_acquire)) {
      state_.store(kDone, std::memory_order_release);
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
      state_.store(kDone, std::memory_order_release);
      Finish(grpc::Status::OK);
      return;
    }
    if (finish_requested_.load(std::memory_order_acquire)) {
      state_.store(kDone, std::memory_order_release);
      Finish(finish_status_);
      return;
    }
    state_.store(kIdle, std::memory_order_seq_cst);
    // Re-check after releasing the token: a push or a finish request that
    // raced with the release must not be stranded. The fence pairs with
    // TryWrite's (see the header).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queue_.Empty() && !finish_requested_.load(std::memory_order_seq_cst) &&
        !cancelled_.load(std::memory_order_seq_cst)) {
      return;
    }
    uint32_t idle = kIdle;
    if (!state_.compare_exchange_strong(idle, kWriting, std::memory_order_acq_rel)) return;
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  if (!ok) {
    // The client went away.
    state_.store(kDone, std::memory_order_release);
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
  state_.store(kDone, std::memory_order_release);
  self_.reset();  // the shard may still hold a reference; the last one frees us
}

}  // namespace gavel
