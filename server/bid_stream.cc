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

void BidStreamReactor::SetFailure(uint64_t n, const grpc::Status& status, bool ends_stream) {
  Slot& slot = slots_[n % kWindow];
  slot.failure = std::make_unique<grpc::Status>(
      status.error_code(), absl::StrCat("request #", n + 1, ": ", status.error_message()));
  slot.ends_stream = ends_stream;
}

void BidStreamReactor::EndAt(uint64_t n, const grpc::Status& status) {
  SetFailure(n, status, /*ends_stream=*/true);
  // submitted_ before reads_done_: a writer that sees reads_done_ must not
  // find written == submitted before request n, or it would end the stream
  // OK without naming n.
  submitted_.store(n + 1, std::memory_order_release);
  reads_done_.store(true, std::memory_order_seq_cst);
  Complete(n);
}

void BidStreamReactor::Submit(uint64_t n) {
  Slot& slot = slots_[n % kWindow];
  slot.failure.reset();
  if (runtime_->draining()) {
    // The server is stopping: this request is not placed, nor anything
    // after it (nothing more is read); the answers before it go out first.
    return EndAt(n, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "the server is shutting down; this request and any after it "
                                 "were not placed: send them again once it is back"));
  }
  absl::StatusOr<AuctionId> id = CheckBidRequest(incoming_);
  if (!id.ok()) {
    // Answered in its place (the fields are echoed only when well-formed);
    // the stream goes on.
    slot.key = CheckIdempotencyKey("client_bid_id", incoming_.client_bid_id()).ok()
                   ? incoming_.client_bid_id()
                   : std::string();
    slot.command.client_bid_id = slot.key;  // not the previous lap's
    absl::StatusOr<AuctionId> a = ParseAuctionId(incoming_.auction_id());
    slot.command.auction_id = a.ok() ? *a : 0;
    SetFailure(n, ToGrpc(id.status()), /*ends_stream=*/false);
    submitted_.store(n + 1, std::memory_order_release);
    Complete(n);
    return;
  }
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
        if (!status.ok()) SetFailure(n, status, /*ends_stream=*/false);
        Complete(n);
        Unref();
      },
      BidHint{auction_id, slot.command.key_hash});
  if (!queued) {
    refs_.fetch_sub(1, std::memory_order_relaxed);
    EndAt(n, grpc::Status(runtime_->stopping() ? grpc::StatusCode::UNAVAILABLE
                                               : grpc::StatusCode::RESOURCE_EXHAUSTED,
                          runtime_->stopping()
                              ? "the server is shutting down"
                              : "the auction's shard is overloaded; resend from this "
                                "request with backoff (earlier requests were answered)"));
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
      if (slot.failure != nullptr && slot.ends_stream) return FinishWith(*slot.failure);
      // Batch: let gRPC coalesce this write with the next when that one is
      // already waiting.
      const Slot& next = slots_[(w + 1) % kWindow];
      grpc::WriteOptions options;
      if (w + 1 < submitted_.load(std::memory_order_acquire) &&
          next.ready.load(std::memory_order_acquire)) {
        options.set_buffer_hint();
      }
      out_.Clear();
      if (slot.failure != nullptr) {
        if (slot.command.auction_id != 0) {
          out_.set_auction_id(FormatAuctionId(slot.command.auction_id));
        }
        out_.set_client_bid_id(slot.key);
        out_.mutable_error()->set_code(slot.failure->error_code());
        out_.mutable_error()->set_message(slot.failure->error_message());
      } else {
        BidResultToProto(slot.result, slot.command, &out_);
      }
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
