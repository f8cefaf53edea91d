// Fakes shared by the engine tests: principal names, a recording listener,
// and a default ENGLISH spec at fixed times.
#ifndef GAVEL_TESTS_ENGINE_ENGINE_TEST_UTIL_H_
#define GAVEL_TESTS_ENGINE_ENGINE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/settlement.h"
#include "engine/types.h"
#include "gtest/gtest.h"

namespace gavel::testing {

inline constexpr PrincipalId kSeller = 1;
inline constexpr PrincipalId kAlice = 2;
inline constexpr PrincipalId kBob = 3;
inline constexpr PrincipalId kCarol = 4;
inline constexpr PrincipalId kDave = 5;
inline constexpr PrincipalId kOtherSeller = 6;

// Ids 0..63 map to fixed names ("seller", "alice", ..., "p7", ...).
// Immutable after construction, so any thread may read it.
class FakePrincipalNames final : public PrincipalNames {
 public:
  FakePrincipalNames() {
    for (PrincipalId id = 0; id < 64; ++id) names_.push_back(absl::StrCat("p", id));
    names_[kSeller] = "seller";
    names_[kAlice] = "alice";
    names_[kBob] = "bob";
    names_[kCarol] = "carol";
    names_[kDave] = "dave";
    names_[kOtherSeller] = "other-seller";
  }
  absl::string_view Name(PrincipalId id) const override {
    return id < names_.size() ? absl::string_view(names_[id]) : absl::string_view("unknown");
  }

 private:
  std::vector<std::string> names_;
};

// Keeps every event and settlement. Single-threaded (the engine's thread).
class RecordingListener final : public EngineListener {
 public:
  void OnEvent(const AuctionEvent& event) override { events.push_back(event); }
  void OnSettlement(std::shared_ptr<const Settlement> settlement) override {
    settlements.push_back(std::move(settlement));
  }
  std::vector<AuctionEvent> EventsOfKind(AuctionEvent::Kind kind) const {
    std::vector<AuctionEvent> out;
    for (const AuctionEvent& e : events) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  std::vector<AuctionEvent> events;
  std::vector<std::shared_ptr<const Settlement>> settlements;
};

// 2023-11-14T22:13:20Z: every test's fixed "now".
inline const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// An ENGLISH auction of one lamp in EUR: start 10.00 EUR, open now, one hour.
inline AuctionSpec EnglishSpec() {
  AuctionSpec s;
  s.title = "Brass desk lamp";
  s.description = "Works; one scratch on the base.";
  s.category = "home";
  s.format = Format::kEnglish;
  s.currency = "EUR";
  s.quantity = 1;
  s.start_price_minor = 1000;
  s.starts_at = kT0;
  s.ends_at = kT0 + absl::Hours(1);
  return s;
}

// A one-unit bid of `amount` by `bidder` with idempotency key `key` (which
// must outlive the command): the command most tests send.
inline PlaceBidCommand BidCommand(AuctionId id, PrincipalId bidder, absl::string_view key,
                                  int64_t amount) {
  PlaceBidCommand cmd;
  cmd.auction_id = id;
  cmd.bidder = bidder;
  cmd.client_bid_id = key;
  cmd.amount_minor = amount;
  return cmd;
}

// Only the rare events are stored; Auction::ForEachEvent rebuilds the
// opening, every bid_accepted and every trade from the bid log. Checks that
// what it gives back from every starting sequence is exactly what the
// listener saw (`published`: one auction's events, in order).
inline void ExpectSameEvent(const AuctionEvent& got, const AuctionEvent& want) {
  EXPECT_EQ(got.auction_id, want.auction_id);
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.at, want.at);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.price_minor, want.price_minor);
  EXPECT_EQ(got.quantity, want.quantity);
  EXPECT_EQ(got.bid_count, want.bid_count);
  EXPECT_EQ(got.leader, want.leader);
  EXPECT_EQ(got.bid_entry, want.bid_entry);
  EXPECT_EQ(got.counter_entry, want.counter_entry);
  EXPECT_EQ(got.incoming_buys, want.incoming_buys);
  EXPECT_EQ(got.buyer, want.buyer);
  EXPECT_EQ(got.seller, want.seller);
  EXPECT_EQ(got.new_ends_at, want.new_ends_at);
  EXPECT_EQ(got.settlement, want.settlement);
}

inline void ExpectHistoryReplaysPublished(const Auction& a,
                                          const std::vector<AuctionEvent>& published) {
  for (size_t from = 0; from < published.size(); ++from) {
    std::vector<AuctionEvent> replayed;
    a.ForEachEvent(published[from].sequence, [&](const AuctionEvent& e) {
      replayed.push_back(e);
      return true;
    });
    ASSERT_EQ(replayed.size(), published.size() - from) << "from " << from;
    for (size_t i = 0; i < replayed.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "from " << from << ", event " << i);
      ExpectSameEvent(replayed[i], published[from + i]);
    }
  }
}

}  // namespace gavel::testing

#endif  // GAVEL_TESTS_ENGINE_ENGINE_TEST_UTIL_H_
