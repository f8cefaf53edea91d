// crash_driver: the client side of the crash and PostgreSQL-outage tests
// (tests/e2e/crash_test.sh, tests/e2e/pg_outage.sh, scripts/crash_long.sh).
//
//   crash_driver load SERVER OUT_FILE STOP_FILE [BIDDERS]
//     Lists short ENGLISH auctions (seller token `crash-seller`) and bids on
//     them from BIDDERS threads (tokens `crash-bidder-N`, default 4) until
//     STOP_FILE exists. A request that fails (the server was killed, is
//     restarting, or is busy) is sent again with the same idempotency key
//     until it is answered. Every answered request is appended to OUT_FILE:
//       AUCTION <auction_id> <ends_at unix micros>
//       BID <client_bid_id> <auction_id> <bid_id or -> <bidder> <amount> <sequence> <result> <replayed>
//       REPEAT <client_bid_id> ok|MISMATCH ...   (a repeated key answered again)
//       GAVEUP <client_bid_id>                   (never answered within 120 s)
//       SETTLED <client_bid_id> <failed attempts> (its auction was settled and
//                                                 dropped before an answer came)
//     Every second a line `PROGRESS <unix seconds> <answered bids>` too.
//
//   crash_driver verify SERVER ACKS_FILE [TIMEOUT_SECONDS]
//     Waits until every auction of ACKS_FILE has closed and its settlement is
//     in PostgreSQL (auditor token `crash-audit`), then checks: each auction
//     is settled exactly once, its hash chain verifies, every acknowledged bid
//     that entered a bid log is there exactly once with its bidder, amount and
//     sequence, and the bid logs hold no bid that was not acknowledged (beyond
//     the ones given up on). Prints the counts; exit 0 when all hold.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/client.h"
#include "grpcpp/grpcpp.h"

namespace {

using gavel::client::GavelClient;
namespace v1 = gavel::v1;

constexpr absl::Duration kGiveUp = absl::Seconds(120);

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Reconnects quickly after the server comes back (gRPC's default backoff
// grows to two minutes).
std::unique_ptr<GavelClient> Connect(const std::string& server, const std::string& token) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
  auto channel = grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
  return std::make_unique<GavelClient>(channel, token, absl::Seconds(3));
}

bool Retryable(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::UNAVAILABLE ||
         st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         st.error_code() == grpc::StatusCode::CANCELLED;
}

// Calls `call()` until it succeeds, fails for good, or 50 tries 100 ms
// apart have passed (the server restarting, PostgreSQL catching up).
template <typename F>
grpc::Status Retry(F call) {
  grpc::Status st;
  for (int attempt = 0; attempt < 50; ++attempt) {
    st = call();
    if (st.ok() || !Retryable(st)) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return st;
}

// Test-client bookkeeping (not server code): a mutex is fine here.
class Out {
 public:
  explicit Out(const std::string& path) : f_(std::fopen(path.c_str(), "a")) {}
  ~Out() {
    if (f_ != nullptr) std::fclose(f_);
  }
  bool ok() const { return f_ != nullptr; }
  void Line(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(f_, "%s\n", line.c_str());
    std::fflush(f_);
  }

 private:
  std::mutex mu_;
  std::FILE* f_;
};

struct Open {
  std::string id;
  absl::Time ends_at;
};

class Load {
 public:
  Load(std::string server, std::string stop_file, Out* out, int bidders)
      : server_(std::move(server)), stop_file_(std::move(stop_file)), out_(out),
        bidders_(bidders), run_(absl::StrCat(absl::ToUnixMicros(absl::Now()))) {}

  int Run() {
    std::vector<std::thread> threads;
    threads.emplace_back([this] { Seller(); });
    for (int i = 0; i < bidders_; ++i) threads.emplace_back([this, i] { Bidder(i); });
    threads.emplace_back([this] { Progress(); });
    for (auto& t : threads) t.join();
    return 0;
  }

 private:
  bool Stopping() const { return Exists(stop_file_); }

  void Seller() {
    std::unique_ptr<GavelClient> client = Connect(server_, "crash-seller");
    std::mt19937_64 rng(std::random_device{}());
    for (int n = 0; !Stopping(); ++n) {
      v1::CreateAuctionRequest req;
      req.set_request_id(absl::StrCat(run_, "-a", n));
      req.mutable_item()->set_title(absl::StrCat("crash lot ", n));
      req.set_format(v1::ENGLISH);
      req.set_currency("EUR");
      req.set_start_price_minor(100);
      req.mutable_duration()->set_seconds(3 + static_cast<int64_t>(rng() % 6));
      v1::Auction auction;
      const absl::Time give_up = absl::Now() + kGiveUp;
      grpc::Status st;
      for (int failures = 1;; ++failures) {
        auction.Clear();
        st = client->CreateAuction(req, &auction);
        if (st.ok() || !Retryable(st) || absl::Now() > give_up) break;
        if (failures % 10 == 0) client = Connect(server_, "crash-seller");
        absl::SleepFor(absl::Milliseconds(50));
      }
      if (!st.ok()) {
        out_->Line(absl::StrCat("GAVEUP ", req.request_id(), " ", st.error_message()));
        continue;
      }
      const absl::Time ends_at =
          absl::FromUnixSeconds(auction.ends_at().seconds()) + absl::Nanoseconds(auction.ends_at().nanos());
      out_->Line(absl::StrCat("AUCTION ", auction.auction_id(), " ", absl::ToUnixMicros(ends_at)));
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_.push_back({auction.auction_id(), ends_at});
      }
      absl::SleepFor(absl::Milliseconds(250));
    }
  }

  // Whether auction `id` has more than a second to run.
  bool Live(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Open& o : open_) {
      if (o.id == id) return o.ends_at > absl::Now() + absl::Seconds(1);
    }
    return false;
  }

  bool PickAuction(std::mt19937_64& rng, std::string* id) {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    std::vector<const Open*> live;
    for (const Open& o : open_) {
      if (o.ends_at > now + absl::Milliseconds(200)) live.push_back(&o);
    }
    if (live.empty()) return false;
    *id = live[rng() % live.size()]->id;
    return true;
  }

  // Sends `req` until it is answered; false when given up. A channel that
  // keeps failing is replaced (a fresh connection to the restarted server).
  bool Send(std::unique_ptr<GavelClient>& client, const std::string& token,
            const v1::PlaceBidRequest& req, v1::PlaceBidResponse* resp) {
    const absl::Time give_up = absl::Now() + kGiveUp;
    int failures = 0;
    while (true) {
      resp->Clear();
      grpc::Status st = client->PlaceBid(req, resp);
      if (st.ok()) return true;
      if (++failures % 10 == 0) client = Connect(server_, token);
      if (st.error_code() == grpc::StatusCode::NOT_FOUND &&
          st.error_message().find("any more") != std::string::npos) {
        // The auction closed and was settled while this request went
        // unanswered: whether an earlier attempt landed is for the audit
        // log to say (verify counts these).
        out_->Line(absl::StrCat("SETTLED ", req.client_bid_id(), " ", failures));
        return false;
      }
      if (!Retryable(st)) {
        out_->Line(absl::StrCat("ERROR ", req.client_bid_id(), " ", st.error_code(), " ",
                                st.error_message()));
        return false;
      }
      if (absl::Now() > give_up) {
        out_->Line(absl::StrCat("GAVEUP ", req.client_bid_id()));
        return false;
      }
      retries_.fetch_add(1);
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  void Bidder(int index) {
    const std::string bidder = absl::StrCat("crash-bidder-", index);
    std::unique_ptr<GavelClient> client = Connect(server_, bidder);
    std::mt19937_64 rng(std::random_device{}() + index);
    std::vector<std::pair<v1::PlaceBidRequest, v1::PlaceBidResponse>> answered;
    for (int n = 0; !Stopping(); ++n) {
      // Now and then a key already answered: the same answer must come back.
      // Only keys of auctions still open: a settled auction leaves the
      // engine at the next snapshot, and with it its keys.
      if (!answered.empty() && rng() % 10 == 0 && Live(answered.back().first.auction_id())) {
        const auto& [req, first] = answered.back();
        v1::PlaceBidResponse again;
        if (!Send(client, bidder, req, &again)) continue;
        const bool same = again.bid_id() == first.bid_id() &&
                          again.sequence() == first.sequence() &&
                          again.reject_reason() == first.reject_reason();
        out_->Line(absl::StrCat("REPEAT ", req.client_bid_id(), same ? " ok" : " MISMATCH",
                                " first=", first.bid_id(), "/", first.sequence(),
                                " again=", again.bid_id(), "/", again.sequence()));
        continue;
      }
      std::string auction;
      if (!PickAuction(rng, &auction)) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      v1::PlaceBidRequest req;
      req.set_auction_id(auction);
      req.set_client_bid_id(absl::StrCat(run_, "-", index, "-", n));
      req.set_amount_minor(100 + static_cast<int64_t>(rng() % 100000));
      v1::PlaceBidResponse resp;
      if (!Send(client, bidder, req, &resp)) continue;
      out_->Line(absl::StrCat("BID ", req.client_bid_id(), " ", auction, " ",
                              resp.bid_id().empty() ? "-" : resp.bid_id(), " ", bidder, " ",
                              req.amount_minor(), " ", resp.sequence(), " ",
                              v1::RejectReason_Name(resp.reject_reason()), " ",
                              resp.outcome() == v1::ACCEPTED ? "ACCEPTED" : "REJECTED"));
      answered_.fetch_add(1);
      answered.emplace_back(req, resp);
      if (answered.size() > 64) answered.erase(answered.begin());
    }
  }

  void Progress() {
    while (!Stopping()) {
      absl::SleepFor(absl::Seconds(1));
      out_->Line(absl::StrCat("PROGRESS ", absl::ToUnixSeconds(absl::Now()), " ",
                              answered_.load(), " ", retries_.load()));
    }
  }

  const std::string server_;
  const std::string stop_file_;
  Out* const out_;
  const int bidders_;
  const std::string run_;
  std::mutex mu_;
  std::vector<Open> open_;
  std::atomic<int64_t> answered_{0};
  std::atomic<int64_t> retries_{0};
};

struct AckedBid {
  std::string client_bid_id, auction, bid_id, bidder;
  int64_t amount = 0;
  uint64_t sequence = 0;
};

int Verify(const std::string& server, const std::string& acks_path, int timeout_seconds) {
  std::ifstream in(acks_path);
  if (!in) {
    std::fprintf(stderr, "verify: cannot read %s\n", acks_path.c_str());
    return 2;
  }
  std::map<std::string, absl::Time> auctions;
  std::vector<AckedBid> bids;
  int64_t repeats = 0, mismatches = 0, gave_up = 0, errors = 0, rejected_closed = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> w = absl::StrSplit(line, ' ');
    if (w.empty()) continue;
    if (w[0] == "AUCTION" && w.size() >= 3) {
      int64_t micros = 0;
      (void)absl::SimpleAtoi(w[2], &micros);
      auctions[w[1]] = absl::FromUnixMicros(micros);
    } else if (w[0] == "BID" && w.size() >= 9) {
      if (w[3] == "-") {
        ++rejected_closed;  // refused before the bid log (closed, not open)
        continue;
      }
      AckedBid b;
      b.client_bid_id = w[1];
      b.auction = w[2];
      b.bid_id = w[3];
      b.bidder = w[4];
      (void)absl::SimpleAtoi(w[5], &b.amount);
      (void)absl::SimpleAtoi(w[6], &b.sequence);
      bids.push_back(b);
    } else if (w[0] == "REPEAT") {
      ++repeats;
      if (w.size() >= 3 && w[2] == "MISMATCH") {
        ++mismatches;
        std::fprintf(stderr, "verify: a repeated key got another answer: %s\n", line.c_str());
      }
    } else if (w[0] == "GAVEUP") {
      ++gave_up;
    } else if (w[0] == "SETTLED") {
      int64_t attempts = 0;
      if (w.size() >= 3) (void)absl::SimpleAtoi(w[2], &attempts);
      if (attempts > 0) ++gave_up;  // an earlier attempt may have landed
    } else if (w[0] == "ERROR") {
      ++errors;
      std::fprintf(stderr, "verify: the load saw an error: %s\n", line.c_str());
    }
  }
  absl::Time last_end = absl::InfinitePast();
  for (const auto& [id, end] : auctions) last_end = std::max(last_end, end);
  const absl::Time deadline = std::max(absl::Now(), last_end) + absl::Seconds(timeout_seconds);

  std::unique_ptr<GavelClient> audit = Connect(server, "crash-audit");
  std::map<std::string, v1::Settlement> settled;
  int64_t chain_failures = 0;
  for (const auto& [id, end] : auctions) {
    while (absl::Now() < end + absl::Milliseconds(100)) absl::SleepFor(absl::Milliseconds(50));
    v1::GetSettlementRequest req;
    req.set_auction_id(id);
    while (true) {
      v1::Settlement s;
      grpc::Status st = audit->GetSettlement(req, &s);
      if (st.ok()) {
        settled[id] = s;
        break;
      }
      if (absl::Now() > deadline) {
        std::fprintf(stderr, "verify: auction %s has no settlement in PostgreSQL (%s)\n",
                     id.c_str(), st.error_message().c_str());
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (settled.count(id) == 0) continue;
    v1::VerifySettlementRequest vreq;
    vreq.set_auction_id(id);
    v1::VerifySettlementResponse vresp;
    const grpc::Status vst = Retry([&] { return audit->VerifySettlement(vreq, &vresp); });
    if (!vst.ok() || !vresp.valid()) {
      ++chain_failures;
      std::fprintf(stderr, "verify: the hash chain of %s does not verify\n", id.c_str());
    }
  }

  // Each auction exactly once in the settlement list.
  std::map<std::string, int> listed;
  std::string token;
  do {
    v1::ListSettlementsRequest req;
    req.set_seller_id("crash-seller");
    req.set_page_size(500);
    req.set_page_token(token);
    v1::ListSettlementsResponse resp;
    const grpc::Status lst = Retry([&] { return audit->ListSettlements(req, &resp); });
    if (!lst.ok()) {
      std::fprintf(stderr, "verify: listing settlements failed: %s\n", lst.error_message().c_str());
      listed.clear();
      break;
    }
    for (const v1::Settlement& s : resp.settlements()) ++listed[s.auction_id()];
    token = resp.next_page_token();
  } while (!token.empty());
  int64_t listed_twice = 0, listed_missing = 0;
  for (const auto& [id, end] : auctions) {
    const int n = listed.count(id) ? listed[id] : 0;
    if (n > 1) ++listed_twice;
    if (n == 0) ++listed_missing;
  }

  // Every acknowledged bid with a bid id is in its auction's bid log, once.
  std::map<std::string, const AckedBid*> by_bid_id;
  int64_t acked_twice = 0, missing = 0, wrong = 0;
  for (const AckedBid& b : bids) {
    auto [it, inserted] = by_bid_id.emplace(b.bid_id, &b);
    if (!inserted) {
      ++acked_twice;
      std::fprintf(stderr, "verify: bid id %s acknowledged for two keys (%s, %s)\n",
                   b.bid_id.c_str(), it->second->client_bid_id.c_str(), b.client_bid_id.c_str());
    }
  }
  int64_t logged = 0, unacknowledged = 0;
  std::set<std::string> seen;
  for (const auto& [id, s] : settled) {
    for (const v1::BidRecord& r : s.bids()) {
      ++logged;
      if (!seen.insert(r.bid_id()).second) {
        ++acked_twice;
        std::fprintf(stderr, "verify: bid %s appears twice in PostgreSQL\n", r.bid_id().c_str());
      }
      auto it = by_bid_id.find(r.bid_id());
      if (it == by_bid_id.end()) {
        ++unacknowledged;
        continue;
      }
      const AckedBid& b = *it->second;
      if (r.bidder_id() != b.bidder || r.amount_minor() != b.amount ||
          r.sequence() != b.sequence) {
        ++wrong;
        std::fprintf(stderr, "verify: bid %s differs: PostgreSQL has %s %lld #%llu, the client "
                     "was told %s %lld #%llu\n", r.bid_id().c_str(), r.bidder_id().c_str(),
                     static_cast<long long>(r.amount_minor()),
                     static_cast<unsigned long long>(r.sequence()), b.bidder.c_str(),
                     static_cast<long long>(b.amount), static_cast<unsigned long long>(b.sequence));
      }
    }
  }
  for (const AckedBid& b : bids) {
    if (seen.count(b.bid_id) == 0) {
      ++missing;
      if (missing <= 10) {
        std::fprintf(stderr, "verify: acknowledged bid %s (%s on %s) is not in PostgreSQL\n",
                     b.bid_id.c_str(), b.client_bid_id.c_str(), b.auction.c_str());
      }
    }
  }
  const int64_t not_settled = static_cast<int64_t>(auctions.size() - settled.size());
  std::printf(
      "verify: %zu auctions listed, %zu settled in PostgreSQL (%lld missing, %lld listed twice, "
      "%lld not listed, %lld bad hash chains)\n"
      "verify: %zu acknowledged bids entered a bid log: %lld missing, %lld twice, %lld differ; "
      "%lld more were refused before the log (auction closed or not open)\n"
      "verify: %lld bid log entries in PostgreSQL, %lld not acknowledged (%lld requests given up, "
      "%lld errors); %lld repeated keys answered again, %lld differently\n",
      auctions.size(), settled.size(), static_cast<long long>(not_settled),
      static_cast<long long>(listed_twice), static_cast<long long>(listed_missing),
      static_cast<long long>(chain_failures), bids.size(), static_cast<long long>(missing),
      static_cast<long long>(acked_twice), static_cast<long long>(wrong),
      static_cast<long long>(rejected_closed), static_cast<long long>(logged),
      static_cast<long long>(unacknowledged), static_cast<long long>(gave_up),
      static_cast<long long>(errors), static_cast<long long>(repeats),
      static_cast<long long>(mismatches));
  const bool ok = !auctions.empty() && !bids.empty() && not_settled == 0 && listed_twice == 0 &&
                  listed_missing == 0 && chain_failures == 0 && missing == 0 &&
                  acked_twice == 0 && wrong == 0 && unacknowledged <= gave_up &&
                  mismatches == 0 && errors == 0;
  std::printf("verify: %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "load" && (argc == 5 || argc == 6)) {
    Out out(argv[3]);
    if (!out.ok()) {
      std::fprintf(stderr, "load: cannot write %s\n", argv[3]);
      return 2;
    }
    int bidders = 4;
    if (argc == 6 && !absl::SimpleAtoi(argv[5], &bidders)) return 2;
    return Load(argv[2], argv[4], &out, bidders).Run();
  }
  if (mode == "verify" && (argc == 4 || argc == 5)) {
    int timeout = 60;
    if (argc == 5 && !absl::SimpleAtoi(argv[4], &timeout)) return 2;
    return Verify(argv[2], argv[3], timeout);
  }
  std::fprintf(stderr,
               "usage: crash_driver load SERVER OUT_FILE STOP_FILE [BIDDERS]\n"
               "       crash_driver verify SERVER ACKS_FILE [TIMEOUT_SECONDS]\n");
  return 2;
}
