#include "server/bid_stream.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/convert.h"

namespace gavel {

BidStreamReactor::BidStreamReactor(Runtime* runtime, PrincipalId bidder, StreamLimit::Permit permit)
    : runtime_(runtime), bidder_(bidder), permit_(std::move(permit)) {
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
  Submit(next_read_++);
  if (reads_done_.load(std::memory_order_acquire)) return;  // an error ended reading
  ReadOnIfRoom();  // the last thing this callback does (see the header)
}

void BidStreamReactor::SetFailure(uint64_t n, const grpc::Status& status) {
  slots_[n % kWindow].failure = std::make_unique<grpc::Status>(
      status.error_code(), absl::StrCat("request #", n + 1, ": ", status.error_message()));
}

void BidStreamReactor::Submit(uint64_t n) {
  Slot& slot = slots_[n % kWindow];
  slot.failure.reset();
  auto refuse = [&](const grpc::Status& status) {
    // The stream ends here: answers before this request are still written.
    SetFailure(n, status);
    submitted_.store(n + 1, std::memory_order_seq_cst);
    reads_done_.store(true, std::memory_order_seq_cst);
    Complete(n);
  };
  absl::StatusOr<AuctionId> id = CheckBidRequest(incoming_);
  if (!id.ok()) return refuse(ToGrpc(id.status()));
  const AuctionId auction_id = *id;
  slot.key = incoming_.client_bid_id();
  slot.command = BidCommandFromRequest(incoming_, auction_id, bidder_);
  slot.command.client_bid_id = slot.key;
  submitted_.store(n + 1, std::memory_order_release);
  refs_.fetch_add(1, std::memory_order_relaxed);
  // The answer is written once the bid is durable (Runtime::RunCommand).
  const bool queued = runtime_->RunCommand(
      runtime_->ForAuction(auction_id),
      [this, n](ShardContext& c) {
        Slot& s = slots_[n % kWindow];
        absl::StatusOr<BidResult> result = c.engine.PlaceBid(s.command, c.now);
        if (!result.ok()) return ToGrpc(result.status());
        s.result = *std::move(result);
        return grpc::Status::OK;
      },
      [this, n](grpc::Status status) {
        if (!status.ok()) SetFailure(n, status);
        Complete(n);
        Unref();
      },
      BidHint{auction_id, slot.command.key_hash});
  if (!queued) {
    refs_.fetch_sub(1, std::memory_order_relaxed);
    SetFailure(n, grpc::Status(runtime_->stopping() ? grpc::StatusCode::UNAVAILABLE
                                                    : grpc::StatusCode::RESOURCE_EXHAUSTED,
                               runtime_->stopping()
                                   ? "the server is shutting down"
                                   : "the auction's shard is overloaded; resend from this "
                                     "request with backoff (earlier requests were answered)"));
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
      if (slot.failure != nullptr) return FinishWith(*slot.failure);
      // Batch: let gRPC coalesce this write with the next when that one is
      // already waiting.
      const Slot& next = slots_[(w + 1) % kWindow];
      grpc::WriteOptions options;
      if (w + 1 < submitted_.load(std::memory_order_acquire) &&
          next.ready.load(std::memory_order_acquire)) {
        options.set_buffer_hint();
      }
      out_.Clear();
      BidResultToProto(slot.result, slot.command, &out_);
      StartWrite(&out_, options);
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

void BidStreamReactor::OnDone() {
  permit_.Release();
  Unref();
}

void BidStreamReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace gavel
