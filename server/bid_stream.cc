#include "server/bid_stream.h"

#include "absl/strings/str_cat.h"
#include "server/convert.h"

namespace gavel {

BidStreamReactor::BidStreamReactor(Runtime* runtime, PrincipalId bidder)
    : runtime_(runtime), bidder_(bidder) {
  StartRead(&incoming_);
}

void BidStreamReactor::ReadOnIfRoom() {
  // acq_rel both ways (see the header): acquire the writer's release of the
  // slot; release this callback's state to a writer that unparks us.
  if (credits_.fetch_sub(1, std::memory_order_acq_rel) > 0) StartRead(&incoming_);
}

void BidStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    reads_done_.store(true, std::memory_order_seq_cst);
    TryWrite();
    return;
  }
  const uint64_t n = next_read_++;
  Slot& slot = slots_[n % kWindow];
  slot.request.Swap(&incoming_);
  slot.response.Clear();
  slot.status = grpc::Status::OK;
  Submit(n);
  if (reads_done_.load(std::memory_order_acquire)) return;  // an error ended reading
  ReadOnIfRoom();  // the last thing this callback does (see the header)
}

void BidStreamReactor::Submit(uint64_t n) {
  Slot& slot = slots_[n % kWindow];
  const v1::PlaceBidRequest& req = slot.request;
  auto refuse = [&](grpc::Status status) {
    // The stream ends here: answers before this request are still written.
    slot.status = grpc::Status(status.error_code(),
                               absl::StrCat("request #", n + 1, ": ", status.error_message()));
    submitted_.store(n + 1, std::memory_order_seq_cst);
    reads_done_.store(true, std::memory_order_seq_cst);
    Complete(n);
  };
  absl::StatusOr<AuctionId> id = CheckBidRequest(req);
  if (!id.ok()) return refuse(ToGrpc(id.status()));
  submitted_.store(n + 1, std::memory_order_release);
  refs_.fetch_add(1, std::memory_order_relaxed);
  const AuctionId auction_id = *id;
  const PrincipalId bidder = bidder_;
  // The answer is written once the bid is durable (Runtime::RunCommand).
  const bool queued = runtime_->RunCommand(
      runtime_->ForAuction(auction_id),
      [this, n, auction_id, bidder](ShardContext& c) {
        Slot& s = slots_[n % kWindow];
        return ToGrpc(
            PlaceBidFromRequest(s.request, auction_id, bidder, c.engine, c.now, &s.response));
      },
      [this, n](grpc::Status status) {
        if (!status.ok()) {
          slots_[n % kWindow].status = grpc::Status(
              status.error_code(), absl::StrCat("request #", n + 1, ": ", status.error_message()));
        }
        Complete(n);
        Unref();
      },
      BidHint{auction_id, bidder, req.client_bid_id()});
  if (!queued) {
    refs_.fetch_sub(1, std::memory_order_relaxed);
    slot.status = grpc::Status(
        runtime_->stopping() ? grpc::StatusCode::UNAVAILABLE
                             : grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("request #", n + 1, ": ",
                     runtime_->stopping()
                         ? "the server is shutting down"
                         : "the auction's shard is overloaded; resend from this request "
                           "with backoff (earlier requests were answered)"));
    reads_done_.store(true, std::memory_order_seq_cst);
    Complete(n);
  }
}

void BidStreamReactor::Complete(uint64_t n) {
  // Published before TryWrite, whose seq_cst fence orders the two
  // (server/write_token.h): release is enough here.
  slots_[n % kWindow].ready.store(true, std::memory_order_release);
  TryWrite();
}

void BidStreamReactor::TryWrite() {
  if (token_.TryAcquire()) WriteNext();
}

void BidStreamReactor::FinishWith(grpc::Status status) {
  token_.MarkDone();
  Finish(std::move(status));
}

void BidStreamReactor::WriteNext() {
  for (;;) {
    if (cancelled_.load(std::memory_order_acquire)) return FinishWith(grpc::Status::CANCELLED);
    const uint64_t w = written_.load(std::memory_order_relaxed);
    Slot& slot = slots_[w % kWindow];
    if (w < submitted_.load(std::memory_order_acquire) &&
        slot.ready.load(std::memory_order_acquire)) {
      if (!slot.status.ok()) return FinishWith(slot.status);
      // Batch: let gRPC coalesce this write with the next when that one is
      // already waiting.
      const Slot& next = slots_[(w + 1) % kWindow];
      grpc::WriteOptions options;
      if (w + 1 < submitted_.load(std::memory_order_acquire) &&
          next.ready.load(std::memory_order_acquire)) {
        options.set_buffer_hint();
      }
      StartWrite(&slot.response, options);
      return;  // OnWriteDone continues
    }
    if (reads_done_.load(std::memory_order_acquire) &&
        w == submitted_.load(std::memory_order_acquire)) {
      return FinishWith(grpc::Status::OK);
    }
    // An answer or a finish condition that raced with the release must not
    // be stranded.
    const bool again = token_.ReleaseThenRecheck([this] {
      const uint64_t written = written_.load(std::memory_order_acquire);
      const uint64_t submitted = submitted_.load(std::memory_order_acquire);
      return (written < submitted &&
              slots_[written % kWindow].ready.load(std::memory_order_acquire)) ||
             (reads_done_.load(std::memory_order_acquire) && written == submitted) ||
             cancelled_.load(std::memory_order_acquire);
    });
    if (!again) return;
  }
}

void BidStreamReactor::OnWriteDone(bool ok) {
  if (!ok) return FinishWith(grpc::Status::CANCELLED);
  const uint64_t w = written_.load(std::memory_order_relaxed);
  slots_[w % kWindow].ready.store(false, std::memory_order_relaxed);
  written_.store(w + 1, std::memory_order_release);  // the token holder's; re-checks acquire it
  // Give the slot back; a parked reader (-1) takes it at once.
  if (credits_.fetch_add(1, std::memory_order_acq_rel) == -1) StartRead(&incoming_);
  WriteNext();
}

void BidStreamReactor::OnCancel() {
  cancelled_.store(true, std::memory_order_seq_cst);
  TryWrite();
}

void BidStreamReactor::OnDone() { Unref(); }

void BidStreamReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace gavel
