// gavel-load: an end-to-end load generator for Gavel's PlaceBid (unary) and
// BidStream over real gRPC. It lists its own English auctions with a seller
// token (or bids on --auctions given), then runs `--bidders` concurrent
// bidders for a warm-up and a measured period, closed loop (--rate=0: each
// bidder keeps its calls in flight back to back) or open loop at a fixed
// offered rate, and prints throughput, latency percentiles (from send to
// answer), accepted/rejected counts and errors by status code. It always
// ends by itself: sending stops at --duration or --max_bids, the tail gets a
// grace period, and what is still in flight then is cancelled.
//
//   gavel-load --server=127.0.0.1:50051 --seller_token=S --bidder_tokens=B1,B2
//       --mode=unary --bidders=64 --duration=10s
//
// It works the same against bench/grpc_baseline (an empty BidderService), so
// the two rates can be compared on one machine in one run.
//
// The last line is machine-readable: `RESULT key=value ...`.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/increment.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "gRPC address of gavel-server or grpc_baseline");
ABSL_FLAG(std::string, seller_token, "", "seller token, to list the auctions bid on");
ABSL_FLAG(std::string, bidder_tokens, "", "comma-separated bidder tokens, used round-robin");
ABSL_FLAG(std::string, auctions, "",
          "comma-separated auction ids to bid on (A1,A2,...); empty: list --create_auctions");
ABSL_FLAG(int, create_auctions, 1000, "English auctions to list when --auctions is empty");
ABSL_FLAG(int, bidders, 64, "concurrent bidders: unary calls in flight (closed loop), or streams");
ABSL_FLAG(std::string, mode, "unary", "unary (PlaceBid) or stream (BidStream)");
ABSL_FLAG(double, rate, 0, "offered bids/s in total; 0: closed loop");
ABSL_FLAG(int, window, 64, "stream mode: requests in flight per stream (closed loop)");
ABSL_FLAG(int, max_inflight, 20000,
          "open loop: bids in flight at most; a send beyond it is skipped and counted");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "load before measuring");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured period (hard stop)");
ABSL_FLAG(int64_t, max_bids, 50'000'000, "hard stop: bids sent in total (warm-up included)");
ABSL_FLAG(int, channels, 2, "gRPC channels (each its own TCP connection)");
ABSL_FLAG(std::string, client_api, "cq",
          "unary mode: cq (async API, --cq_threads threads polling completion queues: the "
          "cheapest client) or callback (gRPC's callback API and its own threads)");
ABSL_FLAG(int, cq_threads, 2, "unary mode with --client_api=cq: completion-queue threads");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(10), "deadline of each unary call");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(5), "after the stop: time for answers in flight");
ABSL_FLAG(std::string, label, "", "a name for the RESULT line");
ABSL_FLAG(int, watchers, 0,
          "WatchAuction streams opened before the load starts, spread over the first "
          "--watched_auctions auctions; each reads every event as fast as it comes");
ABSL_FLAG(int, watched_auctions, 1, "with --watchers: how many of the auctions are watched");

namespace gavel::load {
namespace {

using v1::PlaceBidRequest;
using v1::PlaceBidResponse;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A log-linear latency histogram (32 sub-buckets per power of two: values
// are kept within ~3 %), lock-free so that gRPC's callback threads record
// without contention beyond one relaxed add.
class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  void Record(int64_t v) {
    if (v < 0) v = 0;
    buckets_[Index(static_cast<uint64_t>(v))].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  int64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The value at quantile q (midpoint of its bucket).
  double Quantile(double q) const {
    const int64_t n = count();
    if (n == 0) return 0;
    const int64_t rank = std::min<int64_t>(n - 1, static_cast<int64_t>(q * static_cast<double>(n)));
    int64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen > rank) return Mid(i);
    }
    return Mid(kBuckets - 1);
  }

 private:
  static int Index(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int e = 63 - __builtin_clzll(v);  // >= kSubBits
    const int sub = static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
    return (e - kSubBits + 1) * kSub + sub;
  }
  static double Mid(int i) {
    if (i < kSub) return i;
    const int e = i / kSub + kSubBits - 1;
    const int sub = i % kSub;
    const double lo = static_cast<double>(static_cast<uint64_t>(kSub + sub) << (e - kSubBits));
    const double width = static_cast<double>(uint64_t{1} << (e - kSubBits));
    return lo + width / 2;
  }

  std::array<std::atomic<int64_t>, kBuckets> buckets_{};
  std::atomic<int64_t> count_{0};
};

struct Stats {
  Histogram latency;                 // sends in the measured period
  std::atomic<int64_t> sent{0};      // all, warm-up included
  std::atomic<int64_t> answered{0};  // all
  std::atomic<int64_t> answered_in_window{0};  // answers received in the measured period
  std::atomic<int64_t> accepted{0};  // measured period
  std::atomic<int64_t> rejected{0};  // measured period
  std::array<std::atomic<int64_t>, 16> rejected_by_reason{};  // measured period
  std::array<std::atomic<int64_t>, 17> errors{};  // by grpc::StatusCode, whole run
  std::atomic<int64_t> skipped{0};   // open loop: not sent, too many in flight
  std::atomic<int64_t> late_sends{0};  // open loop: sent > 1 ms after their due time
  std::atomic<int64_t> max_lag_ns{0};
  std::atomic<int64_t> stream_failures{0};
};

// Times that split the run: [start, measure_from) warm-up, [measure_from,
// stop_at) measured; nothing is sent from stop_at on.
struct Clock {
  int64_t start = 0;
  int64_t measure_from = 0;
  int64_t stop_at = 0;
};

// The auctions bid on, and the last price seen on each (a hint for the next
// amount; several bidders race on one auction, so some bids lose).
class Market {
 public:
  explicit Market(std::vector<std::string> ids)
      : ids_(std::move(ids)), price_(std::make_unique<std::atomic<int64_t>[]>(ids_.size())) {
    for (size_t i = 0; i < ids_.size(); ++i) price_[i].store(0, std::memory_order_relaxed);
  }
  size_t size() const { return ids_.size(); }
  const std::string& id(size_t i) const { return ids_[i]; }
  // An amount a little above the least that could be accepted now: one to
  // five increments over the last price seen (others bidding meanwhile on
  // the same auction make some of these too low: BID_TOO_LOW).
  int64_t Amount(size_t i, uint64_t r) const {
    const int64_t p = price_[i].load(std::memory_order_relaxed);
    if (p == 0) return kStartPrice + static_cast<int64_t>(r % 20);
    const int64_t step = IncrementLadder::Default().Step(p);
    return p + step + static_cast<int64_t>(r % static_cast<uint64_t>(4 * step));
  }
  void Saw(size_t i, int64_t price) {
    int64_t old = price_[i].load(std::memory_order_relaxed);
    while (price > old &&
           !price_[i].compare_exchange_weak(old, price, std::memory_order_relaxed)) {
    }
  }
  static constexpr int64_t kStartPrice = 100;

 private:
  std::vector<std::string> ids_;
  std::unique_ptr<std::atomic<int64_t>[]> price_;
};

struct Shared {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::BidderService::Stub>> stubs;
  std::vector<std::string> authorization;  // "Bearer <token>" per bidder token
  Market* market = nullptr;
  Stats stats;
  Clock clock;
  std::string nonce;
  int64_t max_bids = 0;
  absl::Duration deadline;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};

  // Claims one send against --max_bids; false when the run is over.
  bool ClaimSend() {
    if (stopping.load(std::memory_order_relaxed)) return false;
    if (NowNs() >= clock.stop_at) return false;
    int64_t sent_now = stats.sent.load(std::memory_order_relaxed);
    do {
      if (sent_now >= max_bids) return false;
    } while (!stats.sent.compare_exchange_weak(sent_now, sent_now + 1, std::memory_order_relaxed));
    return true;
  }
  // Fills a bid of bidder `agent` with a random auction; returns its index.
  size_t Fill(int agent, uint64_t seq, std::mt19937_64& rng, PlaceBidRequest* req) const {
    const uint64_t r = rng();
    const size_t a = static_cast<size_t>(r % market->size());
    req->set_auction_id(market->id(a));
    req->set_client_bid_id(absl::StrCat(nonce, "-", agent, "-", seq));
    req->set_amount_minor(market->Amount(a, r >> 20));
    return a;
  }
  void RecordAnswer(int64_t sent_ns, const grpc::Status& status, const PlaceBidResponse* resp,
                    size_t auction) {
    const int64_t now = NowNs();
    stats.answered.fetch_add(1, std::memory_order_relaxed);
    if (!status.ok()) {
      stats.errors[std::min<int>(16, status.error_code())].fetch_add(1,
                                                                     std::memory_order_relaxed);
    } else {
      market->Saw(auction, resp->current_price_minor());
    }
    if (now >= clock.measure_from && now < clock.stop_at) {
      stats.answered_in_window.fetch_add(1, std::memory_order_relaxed);
    }
    if (sent_ns < clock.measure_from || sent_ns >= clock.stop_at) return;
    stats.latency.Record(now - sent_ns);
    if (status.ok()) {
      if (resp->outcome() == v1::ACCEPTED) {
        stats.accepted.fetch_add(1, std::memory_order_relaxed);
      } else {
        stats.rejected.fetch_add(1, std::memory_order_relaxed);
        stats.rejected_by_reason[std::min<int>(15, resp->reject_reason())].fetch_add(
            1, std::memory_order_relaxed);
      }
    }
  }
  void NoteLag(int64_t lag) {
    if (lag > 1'000'000) stats.late_sends.fetch_add(1, std::memory_order_relaxed);
    int64_t old = stats.max_lag_ns.load(std::memory_order_relaxed);
    while (lag > old &&
           !stats.max_lag_ns.compare_exchange_weak(old, lag, std::memory_order_relaxed)) {
    }
  }
};

// ------------------------------------------------------------------ unary

// One PlaceBid call; deletes itself when answered.
struct UnaryCall {
  grpc::ClientContext context;
  PlaceBidRequest request;
  PlaceBidResponse response;
  int64_t sent_ns = 0;
  size_t auction = 0;
};

// A bidder of the unary mode: in closed loop it sends its next bid from the
// callback of the last one.
class UnaryBidder {
 public:
  UnaryBidder(Shared* shared, int index)
      : shared_(shared), index_(index), rng_(0x5eed + static_cast<uint64_t>(index)) {}

  // Sends one bid if the run allows; `closed_loop`: sends the next on answer.
  // REQUIRES: not called concurrently for one bidder (closed loop: one call
  // at a time; open loop: only the pacer thread calls).
  bool Send(bool closed_loop) {
    if (!shared_->ClaimSend()) return false;
    auto* call = new UnaryCall;
    call->auction = shared_->Fill(index_, seq_++, rng_, &call->request);
    call->context.AddMetadata("authorization",
                              shared_->authorization[index_ % shared_->authorization.size()]);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMilliseconds(shared_->deadline));
    shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
    call->sent_ns = NowNs();
    auto& stub = *shared_->stubs[index_ % shared_->stubs.size()];
    stub.async()->PlaceBid(&call->context, &call->request, &call->response,
                           [this, call, closed_loop](grpc::Status status) {
                             shared_->RecordAnswer(call->sent_ns, status, &call->response,
                                                   call->auction);
                             delete call;
                             if (closed_loop) Send(true);
                             shared_->in_flight.fetch_sub(1, std::memory_order_release);
                           });
    return true;
  }

 private:
  Shared* const shared_;
  const int index_;
  std::mt19937_64 rng_;
  uint64_t seq_ = 0;
};

// The same with the completion-queue API: each of a few threads polls its
// own queue and, in closed loop, sends the next bid of the bidder whose
// answer it took. No thread hop between the answer and the next send.
struct CqCall {
  grpc::ClientContext context;
  PlaceBidRequest request;
  PlaceBidResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<PlaceBidResponse>> reader;
  int64_t sent_ns = 0;
  size_t auction = 0;
  int bidder = 0;
  bool closed_loop = false;
};

class CqBidders {
 public:
  CqBidders(Shared* shared, int bidders, int threads) : shared_(shared) {
    for (int t = 0; t < threads; ++t) queues_.push_back(std::make_unique<grpc::CompletionQueue>());
    for (int b = 0; b < bidders; ++b) {
      bidders_.push_back(std::make_unique<Bidder>(0x5eed + static_cast<uint64_t>(b)));
    }
  }

  // Closed loop: one call per bidder now, the next on each answer.
  void StartClosedLoop() {
    for (int b = 0; b < static_cast<int>(bidders_.size()); ++b) Send(b, true);
  }
  // `rate` > 0: open loop, each poller thread also sends its share of the
  // offered rate (bids/s) at their due times, so that a send never needs a
  // hand-off to another thread.
  void StartPollers(double rate) {
    const int n = static_cast<int>(queues_.size());
    for (int t = 0; t < n; ++t) {
      pollers_.emplace_back([this, t, n, rate] {
        if (rate > 0) {
          PollAndPace(t, n, rate / n);
        } else {
          Poll(queues_[t].get());
        }
      });
    }
  }
  // Open loop, from the pacer thread (one caller per bidder at a time).
  bool Send(int b, bool closed_loop) {
    if (!shared_->ClaimSend()) return false;
    Bidder& bidder = *bidders_[b];
    auto* call = new CqCall;
    call->bidder = b;
    call->closed_loop = closed_loop;
    call->auction = shared_->Fill(b, bidder.seq++, bidder.rng, &call->request);
    call->context.AddMetadata("authorization",
                              shared_->authorization[b % shared_->authorization.size()]);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMilliseconds(shared_->deadline));
    shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
    grpc::CompletionQueue* q = queues_[b % queues_.size()].get();
    call->sent_ns = NowNs();
    call->reader = shared_->stubs[b % shared_->stubs.size()]->AsyncPlaceBid(&call->context,
                                                                           call->request, q);
    call->reader->Finish(&call->response, &call->status, call);
    return true;
  }
  // After the run, once nothing is in flight (or after the grace period).
  void Shutdown() {
    for (auto& q : queues_) q->Shutdown();
    for (auto& t : pollers_) t.join();
  }

 private:
  struct Bidder {
    explicit Bidder(uint64_t seed) : rng(seed) {}
    std::mt19937_64 rng;
    uint64_t seq = 0;
  };

  // Open loop on thread `t` of `n`: sends to bidders t, t + n, ... in turn
  // at `rate` bids/s, and takes answers in between.
  void PollAndPace(int t, int n, double rate) {
    grpc::CompletionQueue* q = queues_[t].get();
    const int64_t max_inflight = absl::GetFlag(FLAGS_max_inflight);
    const double interval = 1e9 / rate;
    const int bidders = static_cast<int>(bidders_.size());
    uint64_t k = 0;
    int b = t;
    bool sending = true;
    for (;;) {
      const int64_t now = NowNs();
      if (sending && (now >= shared_->clock.stop_at || shared_->stopping.load())) sending = false;
      int64_t due = shared_->clock.start + static_cast<int64_t>(static_cast<double>(k) * interval);
      while (sending && due <= now) {
        shared_->NoteLag(now - due);
        if (shared_->in_flight.load(std::memory_order_relaxed) >= max_inflight) {
          shared_->stats.skipped.fetch_add(1, std::memory_order_relaxed);
        } else if (!Send(b, false)) {
          sending = false;
          break;
        }
        b += n;
        if (b >= bidders) b = t;
        ++k;
        due = shared_->clock.start + static_cast<int64_t>(static_cast<double>(k) * interval);
      }
      // Wait for an answer until the next send is due (or a while, when done
      // sending: the queue's shutdown ends the loop).
      const int64_t wait_until = sending ? due : NowNs() + 50'000'000;
      void* tag = nullptr;
      bool ok = false;
      const auto deadline = std::chrono::system_clock::now() +
                            std::chrono::nanoseconds(std::max<int64_t>(0, wait_until - NowNs()));
      const grpc::CompletionQueue::NextStatus st = q->AsyncNext(&tag, &ok, deadline);
      if (st == grpc::CompletionQueue::SHUTDOWN) return;
      if (st == grpc::CompletionQueue::GOT_EVENT) Complete(static_cast<CqCall*>(tag));
    }
  }

  void Complete(CqCall* call) {
    shared_->RecordAnswer(call->sent_ns, call->status, &call->response, call->auction);
    delete call;
    shared_->in_flight.fetch_sub(1, std::memory_order_release);
  }

  void Poll(grpc::CompletionQueue* q) {
    void* tag = nullptr;
    bool ok = false;
    while (q->Next(&tag, &ok)) {
      auto* call = static_cast<CqCall*>(tag);
      shared_->RecordAnswer(call->sent_ns, call->status, &call->response, call->auction);
      const int b = call->bidder;
      const bool closed_loop = call->closed_loop;
      delete call;
      if (closed_loop) Send(b, true);
      shared_->in_flight.fetch_sub(1, std::memory_order_release);
    }
  }

  Shared* const shared_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::unique_ptr<Bidder>> bidders_;
  std::vector<std::thread> pollers_;
};

// ------------------------------------------------------------------ stream

// A bidder of the stream mode: one BidStream, answers in request order, so
// send times queue FIFO. Bids waiting to be written (the stream writes one
// message at a time) are counted from when they were wanted, not from when
// gRPC took them: queueing in the client is part of the latency.
class StreamBidder final : public grpc::ClientBidiReactor<PlaceBidRequest, PlaceBidResponse> {
 public:
  StreamBidder(Shared* shared, int index, int window, bool closed_loop)
      : shared_(shared),
        index_(index),
        window_(window),
        closed_loop_(closed_loop),
        rng_(0xbeef + static_cast<uint64_t>(index)) {}

  void Start() {
    context_.AddMetadata("authorization",
                         shared_->authorization[index_ % shared_->authorization.size()]);
    // The whole run plus grace: a stream never outlives the generator.
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::nanoseconds(shared_->clock.stop_at - NowNs()) +
                          absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_grace)) +
                          std::chrono::seconds(2));
    shared_->stubs[index_ % shared_->stubs.size()]->async()->BidStream(&context_, this);
    AddHold();  // released when this side stops writing (Finish below)
    StartRead(&incoming_);
    StartCall();
    if (closed_loop_) {
      for (int i = 0; i < window_; ++i) Want();
    }
  }

  // Queues one bid (open loop: from the pacer thread; closed loop: on each
  // answer). False when the run or this stream is over.
  bool Want() {
    if (!shared_->ClaimSend()) {
      MaybeFinishWriting();
      return false;
    }
    bool start = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writes_closed_) return false;
      pending_.push_back(NowNs());
      shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
      if (!writing_) {
        writing_ = true;
        start = true;
      }
    }
    if (start) WriteOne();
    return true;
  }

  int64_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

  // After the run: no more bids; the stream ends once what is queued is
  // written (WritesDone), and the server finishes after the last answer.
  void MaybeFinishWriting() {
    bool done = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writes_closed_ || writing_ || !pending_.empty()) return;
      writes_closed_ = true;
      done = true;
    }
    if (done) {
      if (!failed_.load(std::memory_order_acquire)) StartWritesDone();
      RemoveHold();
    }
  }

  void Cancel() { context_.TryCancel(); }
  bool done() const { return done_.load(std::memory_order_acquire); }

  void OnWriteDone(bool ok) override {
    if (!ok) failed_.store(true, std::memory_order_release);
    bool more = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ok && !pending_.empty()) {
        more = true;
      } else {
        writing_ = false;
        if (!ok) {
          // The stream is broken: what is queued will never be answered.
          shared_->in_flight.fetch_sub(static_cast<int64_t>(pending_.size()),
                                       std::memory_order_relaxed);
          pending_.clear();
        }
      }
    }
    if (more) {
      WriteOne();
    } else if (shared_->stopping.load(std::memory_order_acquire) || !ok ||
               NowNs() >= shared_->clock.stop_at) {
      MaybeFinishWriting();
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the server ended the stream; OnDone follows
    int64_t sent = 0;
    size_t auction = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent = written_.front().first;
      auction = written_.front().second;
      written_.pop_front();
    }
    outstanding_.fetch_sub(1, std::memory_order_relaxed);
    // A request the server could not process is answered in its place.
    shared_->RecordAnswer(
        sent,
        incoming_.has_error()
            ? grpc::Status(static_cast<grpc::StatusCode>(incoming_.error().code()),
                           incoming_.error().message())
            : grpc::Status::OK,
        &incoming_, auction);
    shared_->in_flight.fetch_sub(1, std::memory_order_release);
    StartRead(&incoming_);
    if (closed_loop_) Want();
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok()) {
      shared_->stats.stream_failures.fetch_add(1, std::memory_order_relaxed);
      shared_->stats.errors[std::min<int>(16, status.error_code())].fetch_add(
          1, std::memory_order_relaxed);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Written but never answered.
      shared_->in_flight.fetch_sub(static_cast<int64_t>(written_.size() + pending_.size()),
                                   std::memory_order_relaxed);
      written_.clear();
      pending_.clear();
    }
    done_.store(true, std::memory_order_release);
  }

 private:
  // REQUIRES: writing_ held by the caller and pending_ non-empty.
  void WriteOne() {
    int64_t wanted = 0;
    bool more_after = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wanted = pending_.front();
      pending_.pop_front();
      more_after = !pending_.empty();
    }
    const size_t auction = shared_->Fill(index_, seq_++, rng_, &outgoing_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_.emplace_back(wanted, auction);
    }
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    grpc::WriteOptions options;
    // Let gRPC coalesce with the next message when one is already waiting.
    if (more_after) options.set_buffer_hint();
    StartWrite(&outgoing_, options);
  }

  Shared* const shared_;
  const int index_;
  const int window_;
  const bool closed_loop_;
  std::mt19937_64 rng_;
  uint64_t seq_ = 0;  // writer only
  grpc::ClientContext context_;
  PlaceBidRequest outgoing_;  // the one write in progress
  PlaceBidResponse incoming_;  // the one read in progress
  std::mutex mu_;  // the client's own bookkeeping; not on the server's path
  std::deque<int64_t> pending_;  // wanted, not yet written: the time wanted
  std::deque<std::pair<int64_t, size_t>> written_;  // (time wanted, auction), FIFO
  bool writing_ = false;
  bool writes_closed_ = false;
  std::atomic<int64_t> outstanding_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> done_{false};
};

// ------------------------------------------------------------------ watch

// One WatchAuction stream that reads every event as soon as it arrives and
// counts it; how it ended (OK, cut off with RESOURCE_EXHAUSTED, cancelled
// by us at the end) goes into the report.
class Watcher final : public grpc::ClientReadReactor<v1::AuctionEvent> {
 public:
  Watcher(Shared* shared, std::atomic<int64_t>* events_in_window)
      : shared_(shared), events_in_window_(events_in_window) {}

  void Start(v1::AuctionService::Stub* stub, const std::string& authorization,
             const std::string& auction_id) {
    context_.AddMetadata("authorization", authorization);
    request_.set_auction_id(auction_id);
    stub->async()->WatchAuction(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const int64_t now = NowNs();
    ++events_;
    if (now >= shared_->clock.measure_from && now < shared_->clock.stop_at) {
      events_in_window_->fetch_add(1, std::memory_order_relaxed);
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    code_.store(status.error_code(), std::memory_order_relaxed);
    done_.store(true, std::memory_order_release);
  }
  void Cancel() { context_.TryCancel(); }
  bool done() const { return done_.load(std::memory_order_acquire); }
  int code() const { return code_.load(std::memory_order_relaxed); }
  int64_t events() const { return events_; }  // after done()

 private:
  Shared* const shared_;
  std::atomic<int64_t>* const events_in_window_;
  grpc::ClientContext context_;
  v1::WatchAuctionRequest request_;
  v1::AuctionEvent event_;
  int64_t events_ = 0;  // gRPC's reader only
  std::atomic<int> code_{0};
  std::atomic<bool> done_{false};
};

// ------------------------------------------------------------------ setup

std::vector<std::string> CreateAuctions(v1::SellerService::Stub* seller, const std::string& token,
                                        int count, const std::string& nonce,
                                        absl::Duration lifetime) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    v1::CreateAuctionRequest req;
    req.set_request_id(absl::StrCat("load-", nonce, "-", i));
    req.mutable_item()->set_title(absl::StrCat("gavel-load item ", i));
    req.mutable_item()->set_category("load");
    req.set_format(v1::ENGLISH);
    req.set_currency("EUR");
    req.set_start_price_minor(Market::kStartPrice);
    req.mutable_duration()->set_seconds(absl::ToInt64Seconds(lifetime) + 1);
    v1::Auction resp;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = seller->CreateAuction(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "gavel-load: CreateAuction failed: %d %s\n", st.error_code(),
                   st.error_message().c_str());
      std::exit(1);
    }
    ids.push_back(resp.auction_id());
  }
  return ids;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// gRPC and Abseil number their status codes alike (google.rpc.Code).
std::string CodeName(int code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "?" : name;
}

int Run() {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const bool stream = mode == "stream";
  if (!stream && mode != "unary") {
    std::fprintf(stderr, "gavel-load: --mode must be unary or stream\n");
    return 2;
  }
  const double rate = absl::GetFlag(FLAGS_rate);
  const int bidders = absl::GetFlag(FLAGS_bidders);
  const int window = absl::GetFlag(FLAGS_window);
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const absl::Duration grace = absl::GetFlag(FLAGS_grace);
  if (bidders < 1 || window < 1 || rate < 0 || duration <= absl::ZeroDuration() ||
      warmup < absl::ZeroDuration() || absl::GetFlag(FLAGS_channels) < 1) {
    std::fprintf(stderr, "gavel-load: bad flags (bidders, window >= 1; duration > 0; rate >= 0)\n");
    return 2;
  }
  std::vector<std::string> tokens =
      absl::StrSplit(absl::GetFlag(FLAGS_bidder_tokens), ',', absl::SkipEmpty());
  if (tokens.empty()) {
    std::fprintf(stderr, "gavel-load: --bidder_tokens is required\n");
    return 2;
  }

  Shared shared;
  shared.nonce = absl::StrCat(absl::Hex(absl::GetCurrentTimeNanos()));
  shared.max_bids = absl::GetFlag(FLAGS_max_bids);
  shared.deadline = absl::GetFlag(FLAGS_deadline);
  for (const std::string& t : tokens) shared.authorization.push_back("Bearer " + t);
  for (int c = 0; c < absl::GetFlag(FLAGS_channels); ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per channel
    args.SetInt("gavel-load.channel", c);
    auto ch = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_server),
                                        grpc::InsecureChannelCredentials(), args);
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "gavel-load: cannot connect to %s\n",
                   absl::GetFlag(FLAGS_server).c_str());
      return 1;
    }
    shared.stubs.push_back(v1::BidderService::NewStub(ch));
    shared.channels.push_back(std::move(ch));
  }

  std::vector<std::string> ids =
      absl::StrSplit(absl::GetFlag(FLAGS_auctions), ',', absl::SkipEmpty());
  if (ids.empty()) {
    const std::string seller_token = absl::GetFlag(FLAGS_seller_token);
    if (seller_token.empty()) {
      std::fprintf(stderr, "gavel-load: give --seller_token (to list auctions) or --auctions\n");
      return 2;
    }
    auto seller = v1::SellerService::NewStub(shared.channels[0]);
    const int64_t t0 = NowNs();
    ids = CreateAuctions(seller.get(), seller_token, absl::GetFlag(FLAGS_create_auctions),
                         shared.nonce, warmup + duration + grace + absl::Minutes(10));
    std::fprintf(stderr, "gavel-load: listed %zu auctions in %.2f s\n", ids.size(),
                 static_cast<double>(NowNs() - t0) / 1e9);
  }
  Market market(ids);
  shared.market = &market;

  // Watchers subscribe before the clock starts: they see the whole run.
  const int watcher_count = std::max(0, absl::GetFlag(FLAGS_watchers));
  const size_t watched = std::clamp<size_t>(
      static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_watched_auctions))), 1, ids.size());
  std::atomic<int64_t> watch_events_in_window{0};
  std::vector<std::unique_ptr<Watcher>> watchers;
  std::vector<std::unique_ptr<v1::AuctionService::Stub>> watch_stubs;
  for (const auto& ch : shared.channels) watch_stubs.push_back(v1::AuctionService::NewStub(ch));
  for (int i = 0; i < watcher_count; ++i) {
    watchers.push_back(std::make_unique<Watcher>(&shared, &watch_events_in_window));
    watchers.back()->Start(watch_stubs[i % watch_stubs.size()].get(),
                           shared.authorization[i % shared.authorization.size()],
                           ids[static_cast<size_t>(i) % watched]);
  }
  if (watcher_count > 0) {
    // Let the subscriptions reach their shards before the first bid.
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + watcher_count / 10));
  }

  const double cpu0 = CpuSeconds();
  shared.clock.start = NowNs();
  shared.clock.measure_from = shared.clock.start + absl::ToInt64Nanoseconds(warmup);
  shared.clock.stop_at = shared.clock.measure_from + absl::ToInt64Nanoseconds(duration);
  const bool closed_loop = rate == 0;

  const std::string client_api = absl::GetFlag(FLAGS_client_api);
  const bool use_cq = !stream && client_api == "cq";
  if (!stream && !use_cq && client_api != "callback") {
    std::fprintf(stderr, "gavel-load: --client_api must be cq or callback\n");
    return 2;
  }
  std::vector<std::unique_ptr<UnaryBidder>> unary;
  std::vector<std::unique_ptr<StreamBidder>> streams;
  std::unique_ptr<CqBidders> cq;
  if (use_cq) {
    cq = std::make_unique<CqBidders>(&shared, bidders, std::max(1, absl::GetFlag(FLAGS_cq_threads)));
    if (closed_loop) cq->StartClosedLoop();
    cq->StartPollers(rate);
  } else if (stream) {
    for (int i = 0; i < bidders; ++i) {
      streams.push_back(std::make_unique<StreamBidder>(&shared, i, window, closed_loop));
    }
    for (auto& s : streams) s->Start();
  } else {
    for (int i = 0; i < bidders; ++i) unary.push_back(std::make_unique<UnaryBidder>(&shared, i));
    if (closed_loop) {
      for (auto& b : unary) b->Send(true);
    }
  }

  if (!closed_loop && !use_cq) {
    // The pacer: sends every bid that is due, then sleeps ~100 us. Sends go
    // round-robin over the bidders. A send more than 1 ms behind its due
    // time is counted as late: then the generator, not the server, limits
    // the offered rate.
    const int64_t max_inflight = absl::GetFlag(FLAGS_max_inflight);
    const double interval = 1e9 / rate;
    uint64_t k = 0;
    for (;;) {
      const int64_t now = NowNs();
      if (now >= shared.clock.stop_at || shared.stats.sent.load() >= shared.max_bids) break;
      while (true) {
        const int64_t due =
            shared.clock.start + static_cast<int64_t>(static_cast<double>(k) * interval);
        if (due > now) break;
        shared.NoteLag(now - due);
        const int b = static_cast<int>(k % static_cast<uint64_t>(bidders));
        ++k;
        if (shared.in_flight.load(std::memory_order_relaxed) >= max_inflight) {
          shared.stats.skipped.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (stream) {
          streams[b]->Want();
        } else {
          unary[b]->Send(false);
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  } else {
    while (NowNs() < shared.clock.stop_at && shared.stats.sent.load() < shared.max_bids) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const int64_t stopped = NowNs();
  shared.stopping.store(true, std::memory_order_release);
  for (auto& s : streams) s->MaybeFinishWriting();

  // Grace: answers in flight may still arrive; then cancel what is left.
  const int64_t grace_end = stopped + absl::ToInt64Nanoseconds(grace);
  auto all_done = [&] {
    if (shared.in_flight.load(std::memory_order_acquire) > 0) return false;
    for (auto& s : streams) {
      if (!s->done()) return false;
    }
    return true;
  };
  while (!all_done() && NowNs() < grace_end) {
    for (auto& s : streams) s->MaybeFinishWriting();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const int64_t left = shared.in_flight.load();
  if (!all_done()) {
    for (auto& s : streams) s->Cancel();
    const int64_t cancel_end = NowNs() + 2'000'000'000;
    while (!all_done() && NowNs() < cancel_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  const double cpu = CpuSeconds() - cpu0;
  if (cq != nullptr && all_done()) cq->Shutdown();
  for (auto& w : watchers) w->Cancel();
  const int64_t watch_end = NowNs() + 5'000'000'000;
  auto watchers_done = [&] {
    for (auto& w : watchers) {
      if (!w->done()) return false;
    }
    return true;
  };
  while (!watchers_done() && NowNs() < watch_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  const Stats& st = shared.stats;
  const double measured_s =
      static_cast<double>(std::min(stopped, shared.clock.stop_at) - shared.clock.measure_from) /
      1e9;
  const double throughput =
      measured_s > 0 ? static_cast<double>(st.answered_in_window.load()) / measured_s : 0;
  const double us = 1e-3;
  std::string errors;
  int64_t error_total = 0;
  for (int c = 1; c <= 16; ++c) {
    const int64_t n = st.errors[c].load();
    if (n == 0) continue;
    error_total += n;
    absl::StrAppend(&errors, errors.empty() ? "" : ",", CodeName(c), ":", n);
  }
  const std::string label = absl::GetFlag(FLAGS_label);
  std::printf("gavel-load %s: mode=%s%s rate=%s bidders=%d%s channels=%d auctions=%zu server=%s\n",
              label.c_str(), mode.c_str(),
              stream ? "" : absl::StrCat(" (", client_api, " API)").c_str(),
              closed_loop ? "closed-loop" : absl::StrCat(rate, "/s").c_str(), bidders,
              stream && closed_loop ? absl::StrCat(" window=", window).c_str() : "",
              absl::GetFlag(FLAGS_channels), market.size(),
              absl::GetFlag(FLAGS_server).c_str());
  std::printf("  measured %.2f s after %.2f s warm-up; sent %" PRId64 " (all), answered %" PRId64
              " (all)\n",
              measured_s, absl::ToDoubleSeconds(warmup), st.sent.load(), st.answered.load());
  std::printf("  throughput %.0f answers/s; latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us "
              "(%" PRId64 " samples)\n",
              throughput, st.latency.Quantile(0.50) * us, st.latency.Quantile(0.99) * us,
              st.latency.Quantile(0.999) * us, st.latency.count());
  std::string reasons;
  for (int r = 0; r < 16; ++r) {
    const int64_t n = st.rejected_by_reason[r].load();
    if (n == 0) continue;
    absl::StrAppend(&reasons, reasons.empty() ? " (" : ", ",
                    v1::RejectReason_IsValid(r) ? v1::RejectReason_Name(r) : std::to_string(r),
                    ": ", n);
  }
  if (!reasons.empty()) reasons += ")";
  std::printf("  accepted %" PRId64 ", rejected %" PRId64 "%s (measured period); errors %s\n",
              st.accepted.load(), st.rejected.load(), reasons.c_str(),
              errors.empty() ? "none" : errors.c_str());
  if (!closed_loop) {
    std::printf("  open loop: skipped %" PRId64 " (in flight >= --max_inflight), late sends %" PRId64
                ", max send lag %.1f ms\n",
                st.skipped.load(), st.late_sends.load(),
                static_cast<double>(st.max_lag_ns.load()) / 1e6);
  }
  std::printf("  client CPU %.2f s (%.1f us per answer); unanswered at stop+grace: %" PRId64 "\n",
              cpu, st.answered.load() > 0 ? cpu * 1e6 / static_cast<double>(st.answered.load()) : 0,
              left);
  std::printf(
      "RESULT label=%s mode=%s rate=%.0f throughput=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
      "accepted=%" PRId64 " rejected=%" PRId64 " errors=%" PRId64 " skipped=%" PRId64
      " late=%" PRId64 " client_cpu_s=%.2f answered_all=%" PRId64 "\n",
      label.empty() ? "-" : label.c_str(), mode.c_str(), rate, throughput,
      st.latency.Quantile(0.50) * us, st.latency.Quantile(0.99) * us,
      st.latency.Quantile(0.999) * us, st.accepted.load(), st.rejected.load(), error_total,
      st.skipped.load(), st.late_sends.load(), cpu, st.answered.load());
  if (watcher_count > 0) {
    std::array<int64_t, 17> ends{};
    int64_t events = 0;
    int64_t open = 0;
    for (auto& w : watchers) {
      if (!w->done()) {
        ++open;
        continue;
      }
      events += w->events();
      ++ends[std::min(16, w->code())];
    }
    std::string how;
    for (int c = 0; c <= 16; ++c) {
      if (ends[c] > 0) absl::StrAppend(&how, how.empty() ? "" : ",", CodeName(c), ":", ends[c]);
    }
    const int64_t in_window = watch_events_in_window.load();
    std::printf("  watchers %d on %zu auction(s): %" PRId64
                " events received (%.0f/s in the measured period); ended %s (CANCELLED: by us at "
                "the end)%s\n",
                watcher_count, watched, events,
                measured_s > 0 ? static_cast<double>(in_window) / measured_s : 0, how.c_str(),
                open > 0 ? absl::StrCat("; ", open, " never ended").c_str() : "");
    std::printf(
        "RESULT_WATCH watchers=%d events=%" PRId64 " events_per_s=%.0f cut_off=%" PRId64 "\n",
        watcher_count, events, measured_s > 0 ? static_cast<double>(in_window) / measured_s : 0,
        ends[static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)]);
  }
  std::fflush(stdout);
  if (!all_done() || !watchers_done()) {
    // Calls gRPC would not give back even after cancelling: do not wait on
    // them in destructors; the report is out.
    std::fprintf(stderr, "gavel-load: %" PRId64 " calls still in flight; exiting anyway\n",
                 shared.in_flight.load());
    std::fflush(stderr);
    _exit(3);
  }
  streams.clear();
  watchers.clear();
  return 0;
}

}  // namespace
}  // namespace gavel::load

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gavel-load --server=HOST:PORT --seller_token=T --bidder_tokens=T1,T2 "
      "[--mode=unary|stream] [--bidders=N] [--rate=R] [--duration=10s]");
  absl::ParseCommandLine(argc, argv);
  // gRPC's internal locks are absl::Mutex; Debian's Abseil checks each
  // acquisition for lock-order cycles unless told not to. The load generator
  // shares the machine with the server it measures: it spends nothing on that.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return gavel::load::Run();
}
