// BidStream: many bids on one stream, answered in order. Each request is
// handed to its auction's shard as soon as it is read; shards may finish
// them out of order (different auctions live on different shards), so
// answers wait in a window of slots and are written in request order.
//
// Memory: a slot holds the engine's command and result (224 bytes, plus the
// key when it is longer than 15 bytes, a refusal's message and a
// double-auction order's fills), not protobuf messages; the one answer
// being written is converted into `out_` just before its write. A stream's
// 256 slots, all used in turn, are thus 56 KiB; as a request, a response
// and a grpc::Status with their strings they were about 145 KiB
// (BENCHMARKS.md, seventh round: 2000 streams, server peak RSS 420-448 ->
// 273-295 MB).
//
// Thread safety / invariants:
// - Reader (gRPC, one read outstanding at a time): the running OnReadDone
//   owns `next_read_` and `incoming_` (successive callbacks may run on
//   different threads; ownership passes as "Flow control" says), fills slot
//   `n % kWindow` (free by the credit its read took), and publishes the
//   count with `submitted_` (release) before handing the task to a shard.
//   `incoming_` is free again once Submit has copied what it needs.
// - Shards: the task for request n fills slot n's result when it runs;
//   once the bid is durable (the shard's group commit, Runtime::RunCommand)
//   it sets `slot.ready` (release) and tries to take the writer token.
// - Writer token (`token_`, server/write_token.h, as in WatchReactor): only
//   the holder calls StartWrite/Finish, fills `out_` and advances
//   `written_`. Before
//   letting it go the holder re-checks for a ready slot or a finish
//   condition, so nothing is stranded.
// - Flow control: `credits_` counts free slots not yet promised to a read.
//   Invariant: credits_ + (reads outstanding) + (next_read_ - written_) ==
//   kWindow, except when parked (credits_ == -1, no read outstanding).
//   Starting a read takes one credit (fetch_sub); a finished write gives one
//   back (fetch_add). When the reader finds none it leaves the count at -1,
//   "parked"; the writer whose fetch_add sees -1 hands its credit straight
//   to a new read. Only one read-modify-write can see -1, so exactly one
//   read follows a park, and a read for request m starts only after the
//   writes that freed slot m % kWindow (or for the first kWindow requests,
//   never used). The RMWs are acq_rel: the release of the writer's
//   fetch_add carries the written slot to the reader, and the release of
//   the reader's fetch_sub carries `next_read_` and `incoming_` to the
//   writer that restarts reading after a park.
//   Rule: ReadOnIfRoom is the last thing OnReadDone does. After its
//   fetch_sub a new OnReadDone may already run on another thread, so the
//   old one must not touch `next_read_`, `incoming_` or a slot again (that
//   was the bug of the pause flag this replaced).
// - End of reading (`reads_done_`, seq_cst): set by the reader when the
//   client half-closes, or by EndAt when a request ends the stream
//   (overload, or the server draining: Runtime::draining, checked before
//   each request is placed). EndAt publishes `submitted_` first, so a writer
//   that sees `reads_done_` never finds every submitted request written
//   before the failure that ends the stream, and never finishes OK in its
//   place.
// - Lifetime: `refs_` counts gRPC (until OnDone) plus every task in flight;
//   the last Unref deletes the reactor, so a shard never touches freed memory.
#ifndef GAVEL_SERVER_BID_STREAM_H_
#define GAVEL_SERVER_BID_STREAM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/auth.h"
#include "server/runtime.h"
#include "server/stream_limit.h"
#include "server/write_token.h"

namespace gavel {

class BidStreamReactor final
    : public grpc::ServerBidiReactor<v1::PlaceBidRequest, v1::PlaceBidResponse> {
 public:
  static constexpr uint64_t kWindow = 256;  // answers in flight per stream

  // `permit`: the stream's place under --max_bid_streams, given back in
  // OnDone.
  BidStreamReactor(Runtime* runtime, PrincipalId bidder, StreamLimit::Permit permit);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Slot {
    // The request: `command.client_bid_id` views `key`.
    PlaceBidCommand command;
    std::string key;
    // The answer, converted to protobuf when it is written.
    BidResult result;
    // Set: the request failed (rare: 8 bytes until then). It is answered
    // with PlaceBidResponse.error, or, when `ends_stream`, the stream ends
    // with it at this request.
    std::unique_ptr<grpc::Status> failure;
    bool ends_stream = false;
    std::atomic<bool> ready{false};
  };

  // Starts the next read if a slot is free, else parks the reader.
  void ReadOnIfRoom();
  // Reader side: validates `incoming_`, copies it to slot `n` and hands
  // request `n` to its shard.
  void Submit(uint64_t n);
  // Request `n`'s failure: `status` with the request's number before its
  // message; it ends the stream there when `ends_stream`, else it is that
  // request's answer.
  void SetFailure(uint64_t n, const grpc::Status& status, bool ends_stream);
  // Reader side: ends the stream at request `n` (not placed) with `status`,
  // after the answers before it; nothing more is read.
  void EndAt(uint64_t n, const grpc::Status& status);
  // Marks request `n` answered (any thread) and tries to write.
  void Complete(uint64_t n);
  void TryWrite();
  // REQUIRES: writer token held.
  void WriteNext();
  void FinishWith(grpc::Status status);
  void Unref();

  Runtime* const runtime_;
  const PrincipalId bidder_;
  StreamLimit::Permit permit_;  // gRPC's callbacks only
  std::array<Slot, kWindow> slots_;
  v1::PlaceBidRequest incoming_;
  v1::PlaceBidResponse out_;  // the answer being written
  uint64_t next_read_ = 0;  // the running OnReadDone's (passed on as above)
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<int64_t> credits_{static_cast<int64_t>(kWindow) - 1};  // one read starts at once
  std::atomic<bool> reads_done_{false};
  std::atomic<bool> cancelled_{false};
  WriteToken token_;
  std::atomic<int> refs_{1};
};

}  // namespace gavel

#endif  // GAVEL_SERVER_BID_STREAM_H_
