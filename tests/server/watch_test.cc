// Watch streams under pressure: a watcher that stops reading is cut off with
// a sequence it can resume from, while the others see every event; and one
// auction can have a thousand watchers at once.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "server/runtime.h"
#include "server/server.h"
#include "tests/engine/shard_test_util.h"
#include "tests/server/in_process_server.h"

namespace gavel {
namespace {

class WatchTest : public testing::InProcessServerTest {
 protected:
  static void Auth(grpc::ClientContext* ctx, const std::string& token) {
    ctx->AddMetadata("authorization", "Bearer " + token);
  }

  // An English auction of a clock from 1.00 EUR for an hour (CloseByClock
  // moves two hours on).
  std::string CreateAuction(const std::string& request_id = "r") {
    v1::CreateAuctionRequest req = EnglishRequest(request_id);
    req.mutable_item()->set_title("Clock");
    req.set_start_price_minor(100);
    ToProto(absl::Hours(1), req.mutable_duration());
    return Create(req).auction_id();
  }

  // Closes `id` by the clock: two hours on, and any call makes the shard
  // notice.
  void CloseByClock(const std::string& id) {
    clock_.Advance(absl::Hours(2));
    v1::GetAuctionRequest get;
    get.set_auction_id(id);
    v1::Auction a;
    ASSERT_TRUE(auctions_->GetAuction(As("bob-token").get(), get, &a).ok());
  }

  // `n` accepted bids, alternating bob and carol, over one BidStream each.
  // `pace`, when set, runs before each bid is sent.
  void Bids(const std::string& auction_id, int n, const std::function<void()>& pace = nullptr) {
    auto stub = v1::BidderService::NewStub(channel_);
    for (int who = 0; who < 2; ++who) {
      grpc::ClientContext ctx;
      Auth(&ctx, who == 0 ? "bob-token" : "carol-token");
      auto stream = stub->BidStream(&ctx);
      std::thread writer([&] {
        for (int i = who; i < n; i += 2) {
          if (pace) pace();
          v1::PlaceBidRequest req;
          req.set_auction_id(auction_id);
          req.set_client_bid_id("b" + std::to_string(i));
          req.set_amount_minor(1000 + 20000 * static_cast<int64_t>(i));
          stream->Write(req);
        }
        stream->WritesDone();
      });
      v1::PlaceBidResponse resp;
      while (stream->Read(&resp)) {
        ASSERT_EQ(resp.outcome(), v1::ACCEPTED) << resp.message();
      }
      writer.join();
      ASSERT_TRUE(stream->Finish().ok());
    }
  }
};

TEST_F(WatchTest, SlowWatcherIsCutOffWithAResumePointWhileOthersSeeEverything) {
  const std::string id = CreateAuction();
  // The slow watcher has its own connection, so that HTTP/2 flow control
  // stalls only its stream once it stops reading.
  grpc::ChannelArguments args;
  args.SetInt("grpc.http2.bdp_probe", 0);  // keep the 64 KiB window
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 1 << 20);
  auto slow_channel = grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args);
  auto slow_stub = v1::AuctionService::NewStub(slow_channel);
  grpc::ClientContext slow_ctx;
  Auth(&slow_ctx, "dave-token");
  v1::WatchAuctionRequest req;
  req.set_auction_id(id);
  req.set_from_sequence(1);
  auto slow = slow_stub->WatchAuction(&slow_ctx, req);

  // A fast watcher reads everything as it comes.
  std::vector<uint64_t> fast_seen;
  std::atomic<int> fast_count{0};
  grpc::Status fast_status;
  grpc::ClientContext fast_ctx;
  Auth(&fast_ctx, "dave-token");
  auto fast_stub = v1::AuctionService::NewStub(channel_);
  auto fast = fast_stub->WatchAuction(&fast_ctx, req);
  std::thread fast_reader([&] {
    v1::AuctionEvent e;
    while (fast->Read(&e)) {
      fast_seen.push_back(e.sequence());
      fast_count.fetch_add(1, std::memory_order_release);
    }
    fast_status = fast->Finish();
  });

  // Far more events than the slow watcher's queue (4096) plus what the
  // transport buffers.
  constexpr int kBids = 30000;
  // The fast watcher is held to at most 1000 events behind, however busy
  // the machine: "fast" must mean it, or a loaded test host would cut it off
  // too. The slow one never reads, so it still falls behind by far more.
  int sent = 0;
  Bids(id, kBids, [&] {
    ++sent;
    while (fast_count.load(std::memory_order_acquire) + 1000 < sent) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  CloseByClock(id);
  fast_reader.join();

  ASSERT_TRUE(fast_status.ok()) << fast_status.error_message();
  // OPEN + every accepted bid + the close, in order, none missing.
  ASSERT_EQ(fast_seen.size(), static_cast<size_t>(kBids + 2));
  for (size_t i = 1; i < fast_seen.size(); ++i) ASSERT_LT(fast_seen[i - 1], fast_seen[i]);

  // The slow watcher now reads what it was sent, then learns where to resume.
  std::vector<uint64_t> slow_seen;
  v1::AuctionEvent e;
  while (slow->Read(&e)) slow_seen.push_back(e.sequence());
  grpc::Status slow_status = slow->Finish();
  ASSERT_EQ(slow_status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const std::string& msg = slow_status.error_message();
  const size_t at = msg.find("from_sequence=");
  ASSERT_NE(at, std::string::npos) << msg;
  EXPECT_NE(msg.find("this watcher fell more than"), std::string::npos) << msg;
  const uint64_t resume = std::stoull(msg.substr(at + 14));
  ASSERT_FALSE(slow_seen.empty());
  EXPECT_LT(slow_seen.size(), fast_seen.size());
  // Nothing between what it got and the resume point is lost.
  EXPECT_EQ(slow_seen, std::vector<uint64_t>(fast_seen.begin(),
                                             fast_seen.begin() + slow_seen.size()));
  EXPECT_EQ(resume, fast_seen[slow_seen.size()]);

  // Resuming from there delivers the rest, up to the close.
  std::vector<uint64_t> rest;
  req.set_from_sequence(resume);
  for (;;) {
    grpc::ClientContext resume_ctx;
    Auth(&resume_ctx, "dave-token");
    auto resumed = fast_stub->WatchAuction(&resume_ctx, req);
    while (resumed->Read(&e)) rest.push_back(e.sequence());
    grpc::Status st = resumed->Finish();
    if (st.ok()) break;
    // The replay itself may exceed a watcher's queue; resume again as told.
    ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    const std::string& m = st.error_message();
    EXPECT_NE(m.find("a watch replays at most"), std::string::npos) << m;
    req.set_from_sequence(std::stoull(m.substr(m.find("from_sequence=") + 14)));
  }
  slow_seen.insert(slow_seen.end(), rest.begin(), rest.end());
  EXPECT_EQ(slow_seen, fast_seen);
}

TEST_F(WatchTest, AThousandWatchersOnOneAuctionEachSeeEveryEvent) {
  const std::string id = CreateAuction();
  constexpr int kWatchers = 1000;
  constexpr int kBids = 20;
  auto stub = v1::AuctionService::NewStub(channel_);

  class Watcher final : public grpc::ClientReadReactor<v1::AuctionEvent> {
   public:
    Watcher(v1::AuctionService::Stub* stub, const std::string& id, std::atomic<int>* done)
        : done_(done) {
      ctx_.AddMetadata("authorization", "Bearer dave-token");
      req_.set_auction_id(id);
      req_.set_from_sequence(1);
      stub->async()->WatchAuction(&ctx_, &req_, this);
      StartRead(&event_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      ++events;
      StartRead(&event_);
    }
    void OnDone(const grpc::Status& s) override {
      status = s;
      done_->fetch_add(1);
    }
    int events = 0;
    grpc::Status status;

   private:
    grpc::ClientContext ctx_;
    v1::WatchAuctionRequest req_;
    v1::AuctionEvent event_;
    std::atomic<int>* done_;
  };

  std::atomic<int> done{0};
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(std::make_unique<Watcher>(stub.get(), id, &done));
  }
  Bids(id, kBids);
  CloseByClock(id);
  for (int i = 0; i < 3000 && done.load() < kWatchers; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(done.load(), kWatchers);
  for (const auto& w : watchers) {
    EXPECT_TRUE(w->status.ok()) << w->status.error_message();
    EXPECT_EQ(w->events, kBids + 2);  // OPEN, each bid, the close
  }
}

// A watch whose client gives up before the shard gets to its subscription:
// gRPC ends the stream (OnCancel, OnDone) while the subscribe task still
// waits behind a held shard. When the task then runs, it must hand the hub a
// live reactor (it once handed the one OnDone had just let go of: null, and
// the hub crashed on it), and the hub must drop it at once. Both an open
// auction (the task adds it with a feed) and a cancelled one (no feed).
TEST_F(WatchTest, WatchEndedBeforeItsShardSubscribesIsDroppedQuietly) {
  const std::string open_id = CreateAuction("open");
  const std::string over_id = CreateAuction("over");
  {
    v1::CancelAuctionRequest req;
    req.set_request_id("cancel-over");
    req.set_auction_id(over_id);
    v1::Auction a;
    ASSERT_TRUE(seller_->CancelAuction(As("seller-token").get(), req, &a).ok());
  }
  Runtime& runtime = server_->runtime_for_test();
  std::atomic<bool> held{false};
  std::atomic<bool> release{false};
  ASSERT_TRUE(runtime.Run(runtime.shard(0), [&](ShardContext&) {
    held.store(true);
    while (!release.load()) std::this_thread::yield();
  }));
  ASSERT_TRUE(testing::WaitFor([&] { return held.load(); }));
  for (const std::string& id : {open_id, over_id}) {
    v1::WatchAuctionRequest req;
    req.set_auction_id(id);
    grpc::ClientContext ctx;
    Auth(&ctx, "bob-token");
    // The server sees the deadline pass on its own clock: OnCancel there,
    // however the client side finishes.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(50));
    auto reader = auctions_->WatchAuction(&ctx, req);
    v1::AuctionEvent e;
    EXPECT_FALSE(reader->Read(&e));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // Give the server's deadline timers time to end both streams (OnDone).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  release.store(true);
  EXPECT_TRUE(testing::WaitFor([&] { return runtime.feed_hub().readers_for_test() == 0; }));

  // The server still serves, and a new watcher of the open auction works.
  v1::WatchAuctionRequest req;
  req.set_auction_id(open_id);
  req.set_from_sequence(1);
  grpc::ClientContext ctx;
  Auth(&ctx, "carol-token");
  auto reader = auctions_->WatchAuction(&ctx, req);
  v1::AuctionEvent e;
  ASSERT_TRUE(reader->Read(&e));  // the auction's opening
  ctx.TryCancel();
  while (reader->Read(&e)) {
  }
  reader->Finish();
}

// Watchers coming and going while bids arrive: some give up before their
// subscription reaches the shard, some mid-stream, some after a few events.
// Every stream ends, each one's events come in strictly increasing
// sequence, the hub lets go of every reactor, and a last watcher that
// replays from the start sees every event once.
TEST_F(WatchTest, WatchersComingAndGoingWhileBidsArriveAllEndAndAreForgotten) {
  const std::string id = CreateAuction();
  auto stub = v1::AuctionService::NewStub(channel_);
  std::atomic<bool> bidding{true};
  std::atomic<int> failures{0};
  std::thread bidder([&] {
    Bids(id, 400, [] { std::this_thread::sleep_for(std::chrono::microseconds(200)); });
    bidding.store(false);
  });
  std::vector<std::thread> churners;
  for (int t = 0; t < 4; ++t) {
    churners.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        const int keep = (t + i) % 5;  // 0: cancel at once
        v1::WatchAuctionRequest req;
        req.set_auction_id(id);
        // A watcher that reads waits for history (from 1), which is there
        // even once the bids are over (a slow host); one that cancels at
        // once may also ask for live events only.
        req.set_from_sequence(keep == 0 && i % 2 == 1 ? 0 : 1);
        grpc::ClientContext ctx;
        Auth(&ctx, "dave-token");
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
        auto reader = stub->WatchAuction(&ctx, req);
        v1::AuctionEvent e;
        uint64_t last = 0;
        for (int k = 0; k < keep && reader->Read(&e); ++k) {
          if (e.sequence() <= last) failures.fetch_add(1);
          last = e.sequence();
        }
        ctx.TryCancel();
        while (reader->Read(&e)) {
          if (e.sequence() <= last) failures.fetch_add(1);
          last = e.sequence();
        }
        const grpc::Status st = reader->Finish();
        if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
          failures.fetch_add(1);
          ADD_FAILURE() << st.error_code() << " " << st.error_message();
        }
      }
    });
  }
  for (auto& c : churners) c.join();
  bidder.join();
  EXPECT_EQ(failures.load(), 0);
  // Every reactor the hub held is finished: the hub forgets them at the
  // auction's next news or at its sweep (every second).
  Runtime& runtime = server_->runtime_for_test();
  EXPECT_TRUE(testing::WaitFor([&] { return runtime.feed_hub().readers_for_test() == 0; },
                               absl::Seconds(10)));

  // A last watcher replays everything, then sees the close.
  WatchCall last = OpenWatch(id, "dave-token", 1, absl::Seconds(20));
  auto& reader = last.reader;
  std::vector<uint64_t> seen;
  v1::AuctionEvent e;
  // OPEN and the 400 bids.
  while (seen.size() < 401 && reader->Read(&e)) seen.push_back(e.sequence());
  ASSERT_EQ(seen.size(), 401u);
  for (size_t i = 1; i < seen.size(); ++i) ASSERT_LT(seen[i - 1], seen[i]);
  CloseByClock(id);
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_TRUE(e.has_closed()) << e.DebugString();
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_TRUE(reader->Finish().ok());
}

// A server going down ends its watch streams itself, each with UNAVAILABLE
// and the sequence to come back with, rather than leaving them to be cut by
// the transport.
TEST_F(WatchTest, ShutdownEndsWatchersWithTheSequenceToResumeFrom) {
  const std::string id = CreateAuction();
  Bids(id, 3);
  WatchCall watch = OpenWatch(id, "dave-token", 1, absl::Seconds(20));
  auto& reader = watch.reader;
  v1::AuctionEvent e;
  uint64_t last = 0;
  for (int i = 0; i < 4; ++i) {  // OPEN and the three bids
    ASSERT_TRUE(reader->Read(&e));
    last = e.sequence();
  }
  server_->Shutdown();
  EXPECT_FALSE(reader->Read(&e));
  const grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_NE(st.error_message().find(absl::StrCat("from_sequence=", last + 1)), std::string::npos)
      << st.error_message();
}

}  // namespace
}  // namespace gavel
