// grpc_baseline: what gRPC alone costs on this machine, for comparison with
// gavel-server under the same gavel-load. It serves gavel.v1.BidderService
// and SellerService.CreateAuction with the callback API, as gavel-server
// does, but with no engine, no shards and no auth check (the authorization
// metadata is accepted and ignored):
// - PlaceBid answers at once with a PlaceBidResponse filled like a real
//   acceptance (bid id, outcome, message, price, sequence, ids echoed), so
//   the bytes on the wire match Gavel's.
// - BidStream answers every request at once, in order, with the same
//   response, with a window of 256 answers like Gavel's BidStreamReactor.
// - CreateAuction returns a canned OPEN English auction built from the
//   request, with a new auction id.
//
//   grpc_baseline --listen=127.0.0.1:0 [--max_runtime=15m] [--api=callback|cq]
// --api=cq serves PlaceBid with the completion-queue API instead, to measure
// which of the two is faster here (issue 4; BENCHMARKS.md, "Tenth round").
// prints "listening on 127.0.0.1:PORT" on stderr, stops on SIGINT/SIGTERM,
// and by itself after --max_runtime.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "address to serve on (port 0: a free one)");
ABSL_FLAG(absl::Duration, max_runtime, absl::Minutes(15), "stop by itself after this long");
ABSL_FLAG(std::string, api, "callback",
          "callback: every method with gRPC's callback API, as gavel-server; cq: PlaceBid with "
          "the asynchronous completion-queue API (--cq_threads threads, each polling a queue of "
          "its own), the rest as with callback");
ABSL_FLAG(int, cq_threads, 2, "with --api=cq: completion queues, one thread each");
ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "check absl::Mutex acquisitions for lock-order cycles (on in Debian's Abseil unless "
          "turned off); off by default, as in gavel-server, so that both pay the same");

namespace gavel::baseline {
namespace {

using v1::PlaceBidRequest;
using v1::PlaceBidResponse;

std::atomic<uint64_t> g_sequence{0};

// The answer Gavel gives to an accepted leading English bid.
void Answer(const PlaceBidRequest& req, PlaceBidResponse* resp) {
  const uint64_t seq = g_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
  resp->set_bid_id(absl::StrCat(req.auction_id(), "-", seq % 100000 + 1));
  resp->set_outcome(v1::ACCEPTED);
  resp->set_reject_reason(v1::REJECT_REASON_UNSPECIFIED);
  resp->set_message("accepted: you are the leading bidder");
  resp->set_leading(true);
  resp->set_current_price_minor(req.amount_minor());
  resp->set_sequence(seq);
  resp->set_auction_id(req.auction_id());
  resp->set_client_bid_id(req.client_bid_id());
}

class Seller final : public v1::SellerService::CallbackService {
 public:
  grpc::ServerUnaryReactor* CreateAuction(grpc::CallbackServerContext* context,
                                          const v1::CreateAuctionRequest* request,
                                          v1::Auction* response) override {
    const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    const absl::Time now = absl::Now();
    const absl::Time ends = now + absl::Seconds(request->duration().seconds());
    response->set_auction_id(absl::StrCat("A", id));
    response->set_seller_id("seller");
    v1::AuctionSpec* spec = response->mutable_spec();
    *spec->mutable_item() = request->item();
    spec->set_format(request->format());
    spec->set_currency(request->currency());
    spec->set_quantity(1);
    spec->set_start_price_minor(request->start_price_minor());
    spec->mutable_starts_at()->set_seconds(absl::ToUnixSeconds(now));
    spec->mutable_ends_at()->set_seconds(absl::ToUnixSeconds(ends));
    response->set_state(v1::OPEN);
    response->set_current_price_minor(request->start_price_minor());
    response->mutable_ends_at()->set_seconds(absl::ToUnixSeconds(ends));
    response->mutable_starts_at()->set_seconds(absl::ToUnixSeconds(now));
    response->set_sequence(id);
    response->set_quantity_remaining(1);
    response->set_next_minimum_bid_minor(request->start_price_minor());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::atomic<uint64_t> next_id_{1};
};

// Echoes answers in request order. Reads continue while fewer than kWindow
// answers wait to be written (as in Gavel's BidStreamReactor); one write at
// a time, coalesced with the next when that one is already waiting.
class EchoStream final : public grpc::ServerBidiReactor<PlaceBidRequest, PlaceBidResponse> {
 public:
  static constexpr size_t kWindow = 256;

  EchoStream() { StartRead(&incoming_); }

  void OnReadDone(bool ok) override {
    bool write = false;
    bool read = false;
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ok) {
        reads_done_ = true;
        finish = !writing_ && queue_.empty() && !finished_;
        if (finish) finished_ = true;
      } else if (finished_) {
        return;  // cancelled: nothing more is written or read
      } else {
        Answer(incoming_, &queue_.emplace_back());
        if (!writing_) {
          writing_ = true;
          write = true;
        }
        if (queue_.size() < kWindow) {
          read = true;
        } else {
          read_paused_ = true;
        }
      }
    }
    if (finish) Finish(grpc::Status::OK);
    if (write) WriteFront();
    if (read) StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    bool write = false;
    bool read = false;
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      if (!ok) {
        writing_ = false;
        return;  // cancelled: OnCancel finishes
      }
      if (!queue_.empty()) {
        write = true;
      } else {
        writing_ = false;
        finish = reads_done_ && !finished_;
        if (finish) finished_ = true;
      }
      if (read_paused_ && queue_.size() < kWindow) {
        read_paused_ = false;
        read = true;
      }
    }
    if (finish) Finish(grpc::Status::OK);
    if (write) WriteFront();
    if (read) StartRead(&incoming_);
  }

  void OnCancel() override {
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      finish = !finished_;
      finished_ = true;
    }
    if (finish) Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override { delete this; }

 private:
  // REQUIRES: writing_ set by the caller; the front stays put until its
  // OnWriteDone (a deque keeps element addresses on push_back).
  void WriteFront() {
    const PlaceBidResponse* front;
    grpc::WriteOptions options;
    {
      std::lock_guard<std::mutex> lock(mu_);
      front = &queue_.front();
      if (queue_.size() > 1) options.set_buffer_hint();
    }
    StartWrite(front, options);
  }

  PlaceBidRequest incoming_;
  std::mutex mu_;  // uncontended in practice; the baseline's own bookkeeping
  std::deque<PlaceBidResponse> queue_;
  bool writing_ = false;
  bool read_paused_ = false;
  bool reads_done_ = false;
  bool finished_ = false;
};

class Bidder final : public v1::BidderService::CallbackService {
 public:
  grpc::ServerUnaryReactor* PlaceBid(grpc::CallbackServerContext* context,
                                     const PlaceBidRequest* request,
                                     PlaceBidResponse* response) override {
    Answer(*request, response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<PlaceBidRequest, PlaceBidResponse>* BidStream(
      grpc::CallbackServerContext* /*context*/) override {
    return new EchoStream();
  }
};

// --api=cq: PlaceBid with the completion-queue API, BidStream still with
// callbacks (one service may mix the two per method); CancelBid is unused.
using MixedBidderBase = v1::BidderService::WithAsyncMethod_PlaceBid<
    v1::BidderService::WithCallbackMethod_BidStream<v1::BidderService::Service>>;
class CqBidder final : public MixedBidderBase {
 public:
  grpc::ServerBidiReactor<PlaceBidRequest, PlaceBidResponse>* BidStream(
      grpc::CallbackServerContext* /*context*/) override {
    return new EchoStream();
  }
};

// One PlaceBid call in the completion-queue pattern: asked for, answered,
// finished, then asked for again (a fresh context and writer each time).
class CqCall {
 public:
  CqCall(CqBidder* service, grpc::ServerCompletionQueue* cq, const std::atomic<bool>* stopping)
      : service_(service), cq_(cq), stopping_(stopping) {
    Request();
  }
  // Its tag came out of the queue with `ok`.
  void Proceed(bool ok) {
    if (!answered_) {
      if (!ok) return;  // the request itself failed: the server is shutting down
      Answer(request_, &response_);
      answered_ = true;
      responder_->Finish(response_, grpc::Status::OK, this);
      return;
    }
    // Finished (ok: sent; not ok: the client cancelled or timed out); ask
    // for the next call unless the server is going away.
    if (!stopping_->load(std::memory_order_acquire)) Request();
  }

 private:
  void Request() {
    context_ = std::make_unique<grpc::ServerContext>();
    responder_.emplace(context_.get());
    request_.Clear();
    response_.Clear();
    answered_ = false;
    service_->RequestPlaceBid(context_.get(), &request_, &*responder_, cq_, cq_, this);
  }

  CqBidder* const service_;
  grpc::ServerCompletionQueue* const cq_;
  const std::atomic<bool>* const stopping_;
  std::unique_ptr<grpc::ServerContext> context_;
  PlaceBidRequest request_;
  PlaceBidResponse response_;
  std::optional<grpc::ServerAsyncResponseWriter<PlaceBidResponse>> responder_;
  bool answered_ = false;
};

// Polls `cq` with `calls` PlaceBid calls outstanding on it, until shutdown.
void PollQueue(CqBidder* service, grpc::ServerCompletionQueue* cq, int calls,
               const std::atomic<bool>* stopping) {
  std::vector<std::unique_ptr<CqCall>> outstanding;
  for (int i = 0; i < calls; ++i) {
    outstanding.push_back(std::make_unique<CqCall>(service, cq, stopping));
  }
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<CqCall*>(tag)->Proceed(ok);
}

int Run() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  const std::string api = absl::GetFlag(FLAGS_api);
  if (api != "callback" && api != "cq") {
    std::fprintf(stderr, "grpc_baseline: --api must be callback or cq, not %s\n", api.c_str());
    return 2;
  }
  const bool cq_api = api == "cq";
  Seller seller;
  Bidder bidder;
  CqBidder cq_bidder;
  // As gavel-server: health service on, 1 MiB messages.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&seller);
  if (cq_api) {
    builder.RegisterService(&cq_bidder);
  } else {
    builder.RegisterService(&bidder);
  }
  builder.SetMaxReceiveMessageSize(1 << 20);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  if (cq_api) {
    for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_cq_threads)); ++i) {
      queues.push_back(builder.AddCompletionQueue());
    }
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "grpc_baseline: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "grpc_baseline: listening on 127.0.0.1:%d (--api=%s)\n", port, api.c_str());
  std::fflush(stderr);
  // 256 calls outstanding per queue: more than the load generator keeps in
  // flight, so that no call waits for one to be asked for.
  std::atomic<bool> stopping{false};
  std::vector<std::thread> pollers;
  for (auto& q : queues) {
    pollers.emplace_back(
        [&cq_bidder, &stopping, cq = q.get()] { PollQueue(&cq_bidder, cq, 256, &stopping); });
  }

  // Stop on a signal, or by itself after --max_runtime.
  const absl::Duration max_runtime = absl::GetFlag(FLAGS_max_runtime);
  timespec timeout = absl::ToTimespec(max_runtime);
  const int sig = sigtimedwait(&stop_signals, nullptr, &timeout);
  std::fprintf(stderr, "grpc_baseline: %s, stopping\n",
               sig > 0 ? "signal" : "--max_runtime reached");
  stopping.store(true, std::memory_order_release);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  for (auto& q : queues) q->Shutdown();
  for (auto& t : pollers) t.join();
  return 0;
}

}  // namespace
}  // namespace gavel::baseline

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("grpc_baseline [--listen=127.0.0.1:0] [--max_runtime=15m]");
  absl::ParseCommandLine(argc, argv);
  return gavel::baseline::Run();
}
