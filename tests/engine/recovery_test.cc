// Recovery as a specification: for seeded random command streams over every
// format (English, Dutch, sealed, multi-unit, reverse, double), an engine
// restored from a snapshot taken at a random point plus the journal after it
// has the same state hash as the engine that never stopped, answers every
// later command the same way and settles the same auctions byte for byte.
#include "engine/recovery.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/double_auction.h"
#include "engine/env_memory.h"
#include "engine/journal.h"
#include "engine/journal_file.h"
#include "engine/shard.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/engine/journal_test_util.h"
#include "tests/engine/shard_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::DurablyHasBid;
using ::gavel::testing::JournaledEngine;
using ::gavel::testing::kSeller;
using ::gavel::testing::kShardDir;
using ::gavel::testing::kT0;
using ::gavel::testing::NamedPrincipals;
using ::gavel::testing::RecoverCrashCopy;
using ::gavel::testing::RunOn;
using ::gavel::testing::WaitFor;

constexpr Format kFormats[] = {
    Format::kEnglish,           Format::kDutch,           Format::kSealedFirstPrice,
    Format::kSealedSecondPrice, Format::kMultiUnitUniform, Format::kMultiUnitPayAsBid,
    Format::kReverseEnglish,    Format::kReverseSealed,    Format::kDoubleContinuous,
    Format::kDoubleCall,
};

// One command, with principals as FakePrincipalNames ids (translated per
// engine, whose ids may differ).
struct Command {
  enum class Kind { kCreate, kBid, kCancelBid, kCancelAuction, kMarkSettled, kTick } kind;
  absl::Time now;
  AuctionId auction = 0;
  PrincipalId who = kSeller;
  std::string key;
  AuctionSpec spec;
  int64_t amount = 0;
  int64_t quantity = 1;
  Side side = Side::kNone;
  bool ioc = false;
  uint32_t entry = 0;
};

AuctionSpec RandomSpec(std::mt19937_64& rng, absl::Time now) {
  AuctionSpec s;
  s.title = absl::StrCat("lot ", rng() % 1000);
  s.format = kFormats[rng() % std::size(kFormats)];
  s.currency = "EUR";
  s.quantity = 1;
  s.start_price_minor = 1000;
  s.starts_at = rng() % 3 == 0 ? now + absl::Seconds(static_cast<int64_t>(rng() % 300)) : now;
  s.ends_at = s.starts_at + absl::Minutes(5 + static_cast<int64_t>(rng() % 35)) +
              absl::Nanoseconds(static_cast<int64_t>(rng() % 1000));
  switch (s.format) {
    case Format::kEnglish:
      if (rng() % 2) s.reserve_price_minor = 1500 + static_cast<int64_t>(rng() % 2000);
      if (rng() % 3 == 0) s.buy_now_price_minor = 6000;
      if (rng() % 2) {
        s.soft_close = {true, absl::Minutes(2), absl::Minutes(1), absl::Minutes(10)};
      }
      break;
    case Format::kDutch:
      s.start_price_minor = 10000;
      s.quantity = 1 + static_cast<int64_t>(rng() % 3);
      s.dutch = {500, absl::Seconds(30), 4000};
      break;
    case Format::kMultiUnitUniform:
    case Format::kMultiUnitPayAsBid:
      s.quantity = 2 + static_cast<int64_t>(rng() % 4);
      break;
    case Format::kDoubleContinuous:
    case Format::kDoubleCall:
      s.start_price_minor = 100;
      break;
    default:
      if (rng() % 3 == 0) s.reserve_price_minor = 1500;
      break;
  }
  return s;
}

// Generates commands from the state of the engine that never stops.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Command Next(const Engine& engine) {
    now_ += absl::Seconds(static_cast<int64_t>(rng_() % 40)) +
            absl::Microseconds(static_cast<int64_t>(rng_() % 1000));
    Command c;
    c.now = now_;
    const uint64_t roll = rng_() % 100;
    if (auctions_.empty() || roll < 8) {
      c.kind = Command::Kind::kCreate;
      c.spec = RandomSpec(rng_, now_);
      // Some repeat the request id of an auction not settled yet: an
      // idempotent create. (Once settled and compacted away, the engine no
      // longer knows the id; see docs/OPERATIONS.md.)
      std::vector<const Created*> repeatable;
      for (const Created& k : created_) {
        if (!settled_.contains(k.id)) repeatable.push_back(&k);
      }
      if (!repeatable.empty() && rng_() % 4 == 0) {
        const Created& k = *repeatable[rng_() % repeatable.size()];
        c.who = k.seller;
        c.key = k.key;
        return c;
      }
      c.who = rng_() % 4 == 0 ? testing::kOtherSeller : kSeller;
      c.key = absl::StrCat("create-", next_key_++);
      return c;
    }
    c.auction = auctions_[rng_() % auctions_.size()];
    const Auction* a = engine.Find(c.auction);
    const Format format = a != nullptr ? a->spec().format : Format::kEnglish;
    if (roll < 78) {
      c.kind = Command::Kind::kBid;
      c.who = rng_() % 25 == 0 ? kSeller : static_cast<PrincipalId>(2 + rng_() % 10);
      c.key = absl::StrCat("bid-", rng_() % 400);  // repeats: idempotent answers
      const bool two_sided = format == Format::kDoubleContinuous || format == Format::kDoubleCall;
      if (two_sided) {
        c.side = rng_() % 2 ? Side::kBuy : Side::kSell;
        c.amount = 80 + static_cast<int64_t>(rng_() % 50);
        c.quantity = 1 + static_cast<int64_t>(rng_() % 4);
        c.ioc = format == Format::kDoubleContinuous && rng_() % 5 == 0;
      } else if (format == Format::kDutch) {
        c.amount = rng_() % 2 ? 0 : 3000 + static_cast<int64_t>(rng_() % 8000);
        c.quantity = 1 + static_cast<int64_t>(rng_() % 2);
      } else {
        c.amount = 500 + static_cast<int64_t>(rng_() % 6000);
        if (format == Format::kMultiUnitUniform || format == Format::kMultiUnitPayAsBid) {
          c.quantity = 1 + static_cast<int64_t>(rng_() % 3);
        }
      }
      return c;
    }
    if (roll < 84) {
      c.kind = Command::Kind::kCancelBid;
      c.who = static_cast<PrincipalId>(2 + rng_() % 10);
      // Repeats, on the same order or another: the first answer again.
      c.key = absl::StrCat("cancel-", rng_() % 60);
      c.entry = a != nullptr && !a->bids().empty()
                    ? 1 + static_cast<uint32_t>(rng_() % a->bids().size())
                    : 1;
      if (a != nullptr && c.entry <= a->bids().size()) {
        // Mostly the owner, so that some cancels succeed.
        if (rng_() % 4 != 0) c.who = TranslateBack(a->Entry(c.entry).bidder);
      }
      return c;
    }
    if (roll < 87) {
      c.kind = Command::Kind::kCancelAuction;
      c.who = a != nullptr ? TranslateBack(a->seller()) : kSeller;
      return c;
    }
    if (roll < 95) {
      c.kind = Command::Kind::kMarkSettled;
      return c;
    }
    c.kind = Command::Kind::kTick;
    return c;
  }

  // After the generating engine ran `c`.
  void Ran(const Command& c, AuctionId created, const Engine& engine) {
    if (created != 0 && std::find(auctions_.begin(), auctions_.end(), created) == auctions_.end()) {
      auctions_.push_back(created);
      created_.push_back({c.who, c.key, created});
    }
    if (c.kind == Command::Kind::kMarkSettled) {
      const Auction* a = engine.Find(c.auction);
      if (a != nullptr && (a->state() == AuctionState::kSettled ||
                           a->state() == AuctionState::kCancelled)) {
        settled_.insert(c.auction);
      }
    }
  }
  bool Settled(AuctionId id) const { return settled_.contains(id); }
  absl::Time now() const { return now_; }
  void SetNow(absl::Time t) { now_ = std::max(now_, t); }
  const std::vector<AuctionId>& auctions() const { return auctions_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  // The generating engine uses identity ids.
  static PrincipalId TranslateBack(PrincipalId id) { return id; }

  struct Created {
    PrincipalId seller;
    std::string key;
    AuctionId id;
  };
  std::mt19937_64 rng_;
  absl::Time now_ = kT0;
  std::vector<AuctionId> auctions_;
  std::vector<Created> created_;
  absl::flat_hash_set<AuctionId> settled_;
  int next_key_ = 0;
};

// Runs `c` on `engine` (whose principal table is `names`) and describes the
// outcome, so that two engines' answers can be compared.
std::string Apply(const Command& c, Engine& engine, const NamedPrincipals& names,
                  AuctionId* created) {
  const PrincipalId who = names.Translate(c.who);
  switch (c.kind) {
    case Command::Kind::kCreate: {
      absl::StatusOr<AuctionView> v = engine.CreateAuction(who, c.key, c.spec, c.now);
      if (!v.ok()) return v.status().ToString();
      *created = v->auction_id;
      return absl::StrCat("created ", v->auction_id, " seq ", v->sequence);
    }
    case Command::Kind::kBid: {
      PlaceBidCommand cmd;
      cmd.auction_id = c.auction;
      cmd.bidder = who;
      cmd.client_bid_id = c.key;
      cmd.amount_minor = c.amount;
      cmd.quantity = c.quantity;
      cmd.side = c.side;
      cmd.immediate_or_cancel = c.ioc;
      absl::StatusOr<BidResult> r = engine.PlaceBid(cmd, c.now);
      if (!r.ok()) return r.status().ToString();
      std::string out = absl::StrCat("bid ", r->entry, " ", static_cast<int>(r->reason), " ",
                                     r->message, " ", r->leading, " ", r->current_price_minor,
                                     " ", r->minimum_minor, " ", r->sequence, " ", r->replayed);
      for (const Fill& f : r->fills) {
        absl::StrAppend(&out, " fill ", f.counter_entry, "@", f.price_minor, "x", f.quantity);
      }
      return out;
    }
    case Command::Kind::kCancelBid: {
      absl::StatusOr<int64_t> n = engine.CancelBid(who, c.auction, c.entry, c.now, c.key);
      return n.ok() ? absl::StrCat("cancelled ", *n) : n.status().ToString();
    }
    case Command::Kind::kCancelAuction: {
      absl::StatusOr<AuctionView> v = engine.CancelAuction(who, c.auction, c.now);
      return v.ok() ? absl::StrCat("cancelled auction seq ", v->sequence) : v.status().ToString();
    }
    case Command::Kind::kMarkSettled:
      engine.AdvanceTo(c.now);
      engine.MarkSettled(c.auction);
      return "marked";
    case Command::Kind::kTick:
      engine.AdvanceTo(c.now);
      return "tick";
  }
  return "";
}

std::vector<std::string> SettlementHashes(const testing::RecordingListener& l, size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < l.settlements.size(); ++i) {
    const Settlement& s = *l.settlements[i];
    out.push_back(absl::StrCat(s.auction_id, " ", OutcomeName(s.outcome), " ", s.final_hash, " ",
                               s.winners.size(), " ", s.trades.size(), " ",
                               absl::FormatTime(s.closed_at)));
  }
  return out;
}

std::unique_ptr<JournaledEngine> Restore(MemEnv* env, NamedPrincipals* names,
                                         uint64_t max_file_bytes, RecoveryReport* report) {
  auto e = std::make_unique<JournaledEngine>(env, names, max_file_bytes);
  absl::StatusOr<RecoveryReport> r = e->Start(names);
  EXPECT_TRUE(r.ok()) << r.status();
  if (r.ok()) *report = *r;
  return e;
}

class RandomStreams : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RandomStreams, SnapshotPlusJournalEqualsTheUninterruptedRun) {
  const uint64_t seed = GetParam();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  constexpr int kSteps = 320;
  Generator gen(seed);
  const uint64_t max_file_bytes = 1500 + gen.rng()() % 6000;  // many rolls
  const int cut = 20 + static_cast<int>(gen.rng()() % (kSteps - 40));
  const bool snapshot_at_cut = gen.rng()() % 4 != 0;  // sometimes the journal alone

  MemEnv env;
  NamedPrincipals identity;
  JournaledEngine a(&env, &identity, max_file_bytes);
  ASSERT_TRUE(a.Start(&identity).ok());

  std::vector<Command> commands;
  int compactions = 0;
  for (int step = 0; step < cut; ++step) {
    Command c = gen.Next(a.engine());
    AuctionId created = 0;
    Apply(c, a.engine(), identity, &created);
    gen.Ran(c, created, a.engine());
    commands.push_back(c);
    const uint64_t file = a.journal().file_number();
    ASSERT_TRUE(a.Step(c.now).ok());
    // Compact some rolls along the way, as the shard's compactor would.
    if (a.journal().file_number() != file && gen.rng()() % 2 == 0) {
      CompactionStats stats;
      ASSERT_TRUE(CompactJournal(&env, kShardDir, 0, 1, a.journal().file_number(),
                                 JournalOptions().ended_key_retention, &stats)
                      .ok());
      ++compactions;
    }
  }
  if (gen.rng()() % 2 == 0) {
    // The settlement writer catches up right after a close: the last
    // records before the snapshot belong to auctions it drops, and only the
    // counters record keeps their sequence numbers.
    absl::Time next_close = absl::InfiniteFuture();
    for (AuctionId id : gen.auctions()) {
      const Auction* x = a.engine().Find(id);
      if (x != nullptr && x->state() == AuctionState::kOpen) {
        next_close = std::min(next_close, x->ends_at());
      }
    }
    if (next_close != absl::InfiniteFuture()) gen.SetNow(next_close);
    Command tick;
    tick.kind = Command::Kind::kTick;
    tick.now = gen.now();
    AuctionId none = 0;
    Apply(tick, a.engine(), identity, &none);
    for (AuctionId id : gen.auctions()) {
      Command mark;
      mark.kind = Command::Kind::kMarkSettled;
      mark.now = gen.now();
      mark.auction = id;
      Apply(mark, a.engine(), identity, &none);
      gen.Ran(mark, 0, a.engine());
    }
    ASSERT_TRUE(a.Step(gen.now()).ok());
    commands.push_back(tick);
  }
  if (snapshot_at_cut) {
    CompactionStats stats;
    ASSERT_TRUE(a.Snapshot(commands.back().now, &stats).ok());
    ASSERT_EQ(stats.snapshot_number, a.journal().file_number());
    ++compactions;
  }
  const std::string hash_at_cut = a.engine().StateHash();
  const size_t settled_at_cut = a.listener().settlements.size();

  // The crash: only what was synced survives. Half of the seeds restart
  // with another tokens file (principal ids shifted).
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  NamedPrincipals shifted(seed % 2 == 0 ? 0 : 17);
  RecoveryReport report;
  std::unique_ptr<JournaledEngine> b = Restore(crashed.get(), &shifted, max_file_bytes, &report);
  ASSERT_EQ(b->engine().StateHash(), hash_at_cut);
  EXPECT_EQ(b->engine().last_sequence(), a.engine().last_sequence());
  EXPECT_EQ(b->engine().live_auction_count(), a.engine().live_auction_count());
  if (snapshot_at_cut) {
    EXPECT_EQ(report.snapshot_number, a.journal().file_number());
    EXPECT_EQ(report.journal_records, 0u);
  }
  // The outbox: what is closed and not marked settled, the same settlements.
  std::vector<std::shared_ptr<const Settlement>> outbox_a, outbox_b;
  a.engine().UnsettledSettlements(&outbox_a);
  b->engine().UnsettledSettlements(&outbox_b);
  ASSERT_EQ(outbox_a.size(), outbox_b.size());
  for (size_t i = 0; i < outbox_a.size(); ++i) {
    EXPECT_EQ(outbox_a[i]->final_hash, outbox_b[i]->final_hash);
  }
  const size_t b_settled_at_restore = b->listener().settlements.size();

  // Both go on with the same commands: same answers, same settlements.
  for (int step = cut; step < kSteps; ++step) {
    Command c = gen.Next(a.engine());
    AuctionId created_a = 0, created_b = 0;
    const bool gone = c.kind != Command::Kind::kCreate && gen.Settled(c.auction) &&
                      b->engine().Find(c.auction) == nullptr;
    const std::string ra = Apply(c, a.engine(), identity, &created_a);
    const std::string rb = Apply(c, b->engine(), shifted, &created_b);
    gen.Ran(c, created_a, a.engine());
    if (gone) {
      // Settled before the snapshot: PostgreSQL has it, the restored engine
      // does not. Neither engine changes.
      if (c.kind != Command::Kind::kMarkSettled && c.kind != Command::Kind::kTick) {
        EXPECT_THAT(rb, ::testing::HasSubstr("NOT_FOUND")) << "step " << step;
      }
    } else {
      ASSERT_EQ(ra, rb) << "step " << step;
    }
    ASSERT_TRUE(a.Step(c.now).ok());
    ASSERT_TRUE(b->Step(c.now).ok());
  }
  // Close everything that is still open.
  const absl::Time end = kT0 + absl::Hours(24);
  a.engine().AdvanceTo(end);
  b->engine().AdvanceTo(end);
  ASSERT_TRUE(a.Step(end).ok());
  ASSERT_TRUE(b->Step(end).ok());
  EXPECT_EQ(a.engine().StateHash(), b->engine().StateHash());
  EXPECT_EQ(SettlementHashes(a.listener(), settled_at_cut),
            SettlementHashes(b->listener(), b_settled_at_restore));
  EXPECT_GT(a.listener().settlements.size(), settled_at_cut);

  // And the uninterrupted engine's own directory restores to its end state.
  std::unique_ptr<MemEnv> final_copy = env.CrashCopy();
  NamedPrincipals fresh(5);
  RecoveryReport final_report;
  std::unique_ptr<JournaledEngine> c =
      Restore(final_copy.get(), &fresh, max_file_bytes, &final_report);
  EXPECT_EQ(c->engine().StateHash(), a.engine().StateHash());
  if (compactions > 0) {
    EXPECT_GT(final_report.snapshot_number, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomStreams, ::testing::Range<uint64_t>(1, 61));

TEST(Snapshot, DropsSettledAuctionsAndKeepsTheOutbox) {
  MemEnv env;
  NamedPrincipals names;
  JournaledEngine a(&env, &names);
  ASSERT_TRUE(a.Start(&names).ok());
  std::vector<AuctionId> ids;
  for (int i = 0; i < 4; ++i) {
    AuctionSpec spec = testing::EnglishSpec();
    spec.ends_at = kT0 + absl::Minutes(10 + i);
    ids.push_back(a.engine().CreateAuction(kSeller, absl::StrCat(i), spec, kT0)->auction_id);
  }
  PlaceBidCommand bid;
  bid.auction_id = ids[0];
  bid.bidder = testing::kAlice;
  bid.client_bid_id = "x";
  bid.amount_minor = 2000;
  ASSERT_TRUE(a.engine().PlaceBid(bid, kT0).ok());
  ASSERT_TRUE(a.engine().CancelAuction(kSeller, ids[3], kT0).ok());
  a.engine().AdvanceTo(kT0 + absl::Minutes(11));  // ids[0] and ids[1] close
  a.engine().MarkSettled(ids[1]);                 // PostgreSQL has ids[1]
  a.engine().MarkSettled(ids[3]);                 // and the cancelled ids[3]
  CompactionStats stats;
  ASSERT_TRUE(a.Snapshot(kT0 + absl::Minutes(11), &stats).ok());
  EXPECT_EQ(stats.auctions_dropped, 2u);

  EXPECT_EQ(stats.keys_kept, 2u);
  EXPECT_EQ(stats.keys_expired, 0u);

  // Of the settled auctions the snapshot holds only who created them under
  // which request id.
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  std::string* snap = crashed->MutableContents(
      absl::StrCat(kShardDir, "/", SnapshotFileName(stats.snapshot_number)));
  ASSERT_NE(snap, nullptr);
  int key_records = 0;
  for (const Frame& f : ScanFrames(*snap).frames) {
    RecordPeek peek;
    ASSERT_TRUE(PeekRecord(f.payload, &peek).ok());
    if (peek.auction_id != ids[1] && peek.auction_id != ids[3]) continue;
    ASSERT_EQ(peek.type, RecordType::kEndedAuctionKey);
    const JournalRecord r = *DecodeRecord(f.payload);
    EXPECT_EQ(r.principal_name, names.Name(kSeller));
    EXPECT_EQ(r.key, peek.auction_id == ids[1] ? "1" : "3");
    EXPECT_EQ(r.settled_at, kT0 + absl::Minutes(11));
    ++key_records;
  }
  EXPECT_EQ(key_records, 2);
  // Only the snapshot and the new journal file are left.
  EXPECT_EQ(crashed->ListDir(kShardDir)->size(), 2u);

  NamedPrincipals fresh;
  RecoveryReport report;
  std::unique_ptr<JournaledEngine> b = Restore(crashed.get(), &fresh, 64u << 20, &report);
  EXPECT_EQ(b->engine().StateHash(), a.engine().StateHash());
  EXPECT_EQ(b->engine().Find(ids[1]), nullptr);
  EXPECT_EQ(b->engine().Find(ids[3]), nullptr);
  // A bid on a dropped auction, sold or cancelled, is told where its record is.
  for (AuctionId dropped : {ids[1], ids[3]}) {
    const std::string key = absl::StrCat("late-", dropped);
    absl::StatusOr<BidResult> late = b->engine().PlaceBid(
        testing::BidCommand(dropped, fresh.Translate(testing::kAlice), key, 5000),
        kT0 + absl::Minutes(11));  // the snapshot's time: nothing else closes
    EXPECT_EQ(late.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(
        std::string(late.status().message()),
        ::testing::HasSubstr("does not exist in the engine any more: it ended (closed or "
                             "cancelled), and its record with every bid is in the audit log"));
  }
  ASSERT_NE(b->engine().Find(ids[2]), nullptr);
  EXPECT_EQ(b->engine().Find(ids[2])->state(), AuctionState::kOpen);
  // ids[0] closed and is not in PostgreSQL yet: its settlement is the outbox.
  std::vector<std::shared_ptr<const Settlement>> outbox;
  b->engine().UnsettledSettlements(&outbox);
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0]->auction_id, FormatAuctionId(ids[0]));
  EXPECT_EQ(outbox[0]->winners.at(0).bidder_id, "alice");
  // A CreateAuction resent with a dropped auction's request id is told which
  // auction it made, and makes no other.
  const size_t count = b->engine().auction_count();
  for (int i : {1, 3}) {
    absl::StatusOr<AuctionView> again = b->engine().CreateAuction(
        fresh.Translate(kSeller), absl::StrCat(i), testing::EnglishSpec(), kT0 + absl::Minutes(11));
    EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(
        std::string(again.status().message()),
        ::testing::HasSubstr(absl::StrCat(
            "request_id \"", i, "\" created auction ", FormatAuctionId(ids[i]), " before; auction ",
            FormatAuctionId(ids[i]), " does not exist in the engine any more")));
  }
  EXPECT_EQ(b->engine().auction_count(), count);
  // Another seller's same request id is another key.
  EXPECT_TRUE(b->engine()
                  .CreateAuction(fresh.Translate(testing::kBob), "1", testing::EnglishSpec(),
                                 kT0 + absl::Minutes(11))
                  .ok());
  // New auctions are numbered after every auction ever created.
  absl::StatusOr<AuctionView> next =
      b->engine().CreateAuction(kSeller, "new", testing::EnglishSpec(), kT0 + absl::Minutes(12));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->auction_id, ids.back() + 2);
}

// DropSettled frees only what a snapshot no longer carries: closed and
// marked settled, or cancelled and marked; never an open, or a closed one
// PostgreSQL does not have yet.
TEST(Snapshot, DropSettledFreesOnlyMarkedAuctions) {
  NamedPrincipals names;
  testing::RecordingListener listener;
  Engine engine(EngineOptions{}, &names, &listener);
  AuctionSpec spec = testing::EnglishSpec();
  spec.ends_at = kT0 + absl::Minutes(1);
  const AuctionId sold = engine.CreateAuction(kSeller, "sold", spec, kT0)->auction_id;
  const AuctionId unmarked = engine.CreateAuction(kSeller, "unmarked", spec, kT0)->auction_id;
  const AuctionId cancelled = engine.CreateAuction(kSeller, "cancelled", spec, kT0)->auction_id;
  spec.ends_at = kT0 + absl::Hours(1);
  const AuctionId open = engine.CreateAuction(kSeller, "open", spec, kT0)->auction_id;
  ASSERT_TRUE(engine.CancelAuction(kSeller, cancelled, kT0).ok());
  engine.AdvanceTo(kT0 + absl::Minutes(2));
  engine.MarkSettled(sold);
  engine.MarkSettled(cancelled);
  engine.MarkSettled(open);  // not closed: ignored
  for (AuctionId id : {sold, unmarked, cancelled, open}) engine.DropSettled(id);
  engine.DropSettled(999);  // unknown: ignored
  EXPECT_EQ(engine.Find(sold), nullptr);
  EXPECT_EQ(engine.Find(cancelled), nullptr);
  EXPECT_NE(engine.Find(unmarked), nullptr);
  EXPECT_NE(engine.Find(open), nullptr);
  EXPECT_EQ(engine.auction_count(), 2u);
  EXPECT_EQ(engine.GetAuction(sold, true).status().code(), absl::StatusCode::kNotFound);
  // Its outbox is untouched: the unmarked one still waits for PostgreSQL.
  std::vector<std::shared_ptr<const Settlement>> outbox;
  engine.UnsettledSettlements(&outbox);
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0]->auction_id, FormatAuctionId(unmarked));
}

// The request ids of dropped auctions outlive later snapshots while they
// are younger than the retention, and are then let go.
TEST(Snapshot, KeepsTheRequestIdsOfDroppedAuctionsForTheRetention) {
  MemEnv env;
  NamedPrincipals names;
  JournaledEngine a(&env, &names);
  a.set_ended_key_retention(absl::Hours(1));
  ASSERT_TRUE(a.Start(&names).ok());
  AuctionSpec spec = testing::EnglishSpec();
  spec.ends_at = kT0 + absl::Minutes(10);
  const AuctionId old_id = a.engine().CreateAuction(kSeller, "listing-1", spec, kT0)->auction_id;
  a.engine().AdvanceTo(kT0 + absl::Minutes(10));  // closes, unsold
  a.engine().MarkSettled(old_id);
  CompactionStats stats;
  ASSERT_TRUE(a.Snapshot(kT0 + absl::Minutes(10), &stats).ok());
  EXPECT_EQ(stats.auctions_dropped, 1u);
  EXPECT_EQ(stats.keys_kept, 1u);

  // A second snapshot inside the hour keeps the key: restored, the resend is
  // still recognised.
  spec.ends_at = kT0 + absl::Hours(3);
  const AuctionId live =
      a.engine().CreateAuction(kSeller, "listing-2", spec, kT0 + absl::Minutes(30))->auction_id;
  ASSERT_TRUE(a.Snapshot(kT0 + absl::Minutes(30), &stats).ok());
  EXPECT_EQ(stats.keys_kept, 1u);
  EXPECT_EQ(stats.keys_expired, 0u);
  {
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    NamedPrincipals fresh(7);
    RecoveryReport report;
    std::unique_ptr<JournaledEngine> b = Restore(crashed.get(), &fresh, 1u << 20, &report);
    EXPECT_EQ(b->engine().StateHash(), a.engine().StateHash());
    absl::StatusOr<AuctionView> again = b->engine().CreateAuction(
        fresh.Translate(kSeller), "listing-1", spec, kT0 + absl::Minutes(30));
    EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound) << again.status();
    EXPECT_EQ(b->engine().auction_count(), 1u);
  }

  // Past the hour the next snapshot lets it go; the live auction stays.
  a.engine().AdvanceTo(kT0 + absl::Minutes(71));
  ASSERT_TRUE(a.Snapshot(kT0 + absl::Minutes(71), &stats).ok());
  EXPECT_EQ(stats.keys_kept, 0u);
  EXPECT_EQ(stats.keys_expired, 1u);
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  NamedPrincipals fresh;
  RecoveryReport report;
  std::unique_ptr<JournaledEngine> b = Restore(crashed.get(), &fresh, 1u << 20, &report);
  EXPECT_EQ(b->engine().StateHash(), a.engine().StateHash());
  ASSERT_NE(b->engine().Find(live), nullptr);
  // The key is forgotten, but the ids stay unique: a resend now makes a
  // new auction, numbered after every one before.
  absl::StatusOr<AuctionView> after = b->engine().CreateAuction(
      fresh.Translate(kSeller), "listing-1", spec, kT0 + absl::Minutes(71));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT(after->auction_id, live);
}

// A snapshot that fails part-way removes its temporary file: on a full disk
// the next attempt, under another number, would otherwise find the space
// still taken (and failed attempts would pile up until the journal fails).
TEST(Snapshot, AFailedSnapshotLeavesNoTemporaryFileBehind) {
  MemEnv env;
  NamedPrincipals names;
  JournaledEngine a(&env, &names);
  ASSERT_TRUE(a.Start(&names).ok());
  ASSERT_TRUE(a.engine().CreateAuction(kSeller, "r1", testing::EnglishSpec(), kT0).ok());
  ASSERT_TRUE(a.Step(kT0).ok());
  ASSERT_TRUE(a.journal().Roll(a.engine().CountersRecord(), kT0).ok());
  const uint64_t upto = a.journal().file_number();
  auto temporary_files = [&] {
    absl::StatusOr<std::vector<std::string>> names = env.ListDir(kShardDir);
    EXPECT_TRUE(names.ok()) << names.status();
    if (!names.ok()) return -1;
    int n = 0;
    for (const std::string& name : *names) n += absl::EndsWith(name, ".tmp");
    return n;
  };
  env.FailSyncsAfter(0);  // the snapshot's own sync fails
  CompactionStats stats;
  EXPECT_FALSE(
      CompactJournal(&env, kShardDir, 0, 1, upto, JournalOptions().ended_key_retention, &stats)
          .ok());
  env.FailSyncsAfter(-1);
  EXPECT_EQ(stats.snapshot_number, 0u);
  EXPECT_EQ(temporary_files(), 0);
  // The journal files it would have covered are kept, and the next attempt
  // writes it.
  ASSERT_TRUE(
      CompactJournal(&env, kShardDir, 0, 1, upto, JournalOptions().ended_key_retention, &stats)
          .ok());
  EXPECT_EQ(stats.snapshot_number, upto);
  EXPECT_EQ(temporary_files(), 0);
}

// ---------------------------------------------------------------- the shard

// A bid whose answer waits for durability, as the server's RPCs do.
class BidTask final : public ShardTask {
 public:
  struct Counters {
    std::atomic<int> acked{0};
    std::atomic<int> abandoned{0};
    std::atomic<int> acked_after_abandon{0};
    std::atomic<int> acked_not_durable{0};
    MemEnv* env = nullptr;  // set: check durability at each ack (slow)
  };
  BidTask(AuctionId auction, std::string key, int64_t amount, Counters* counters)
      : auction_(auction), key_(std::move(key)), amount_(amount), counters_(counters) {}

  void Run(ShardContext& ctx) override {
    result_ =
        ctx.engine.PlaceBid(testing::BidCommand(auction_, testing::kAlice, key_, amount_), ctx.now);
    ctx.shard.AckWhenDurable(this);
  }
  void Acknowledge() override {
    if (counters_->abandoned.load() > 0) counters_->acked_after_abandon.fetch_add(1);
    if (counters_->env != nullptr && !DurablyHasBid(*counters_->env, auction_, key_)) {
      counters_->acked_not_durable.fetch_add(1);
    }
    counters_->acked.fetch_add(1);
    delete this;
  }
  void Abandon() override {
    counters_->abandoned.fetch_add(1);
    delete this;
  }

 private:
  const AuctionId auction_;
  const std::string key_;
  const int64_t amount_;
  Counters* const counters_;
  absl::StatusOr<BidResult> result_;
};

// Records settlements (shard thread) and whether each was durable then.
class DurableCheckingDownstream final : public EngineListener {
 public:
  explicit DurableCheckingDownstream(MemEnv* env) : env_(env) {}
  void OnEvent(const AuctionEvent&) override {}
  void OnSettlement(std::shared_ptr<const Settlement> s) override {
    if (env_ != nullptr) {
      // The close must be in the durable journal: a recovered engine has it
      // in its outbox (or as settled).
      NamedPrincipals names;
      testing::RecordingListener listener;
      Engine engine(EngineOptions{}, &names, &listener);
      std::vector<std::shared_ptr<const Settlement>> outbox;
      if (RecoverCrashCopy(*env_, &engine, &names)) engine.UnsettledSettlements(&outbox);
      bool found = false;
      for (const auto& o : outbox) found = found || o->auction_id == s->auction_id;
      if (!found) not_durable.fetch_add(1);
    }
    count.fetch_add(1);
  }
  std::atomic<int> count{0};
  std::atomic<int> not_durable{0};

 private:
  MemEnv* env_;
};

ShardOptions MemShardOptions(MemEnv* env, Durability durability) {
  EXPECT_TRUE(env->CreateDir(kShardDir).ok());
  ShardOptions o;
  o.journal.env = env;
  o.journal.dir = kShardDir;
  o.journal.durability = durability;
  o.journal.max_file_age = absl::InfiniteDuration();
  o.background_compaction = false;  // MemEnv is used by one thread at a time
  o.log = [](const std::string&) {};
  return o;
}

// A cancel's request_id is journaled: after a restart (from the journal, or
// from a snapshot that compacted it), the resent cancel still gets the first
// answer and cancels nothing more.
TEST(Recovery, ACancelKeyOutlivesARestartAndASnapshot) {
  for (const bool snapshot : {false, true}) {
    SCOPED_TRACE(snapshot ? "from a snapshot" : "from the journal");
    MemEnv env;
    NamedPrincipals names;
    JournaledEngine a(&env, &names);
    ASSERT_TRUE(a.Start(&names).ok());
    AuctionSpec spec = testing::EnglishSpec();
    spec.format = Format::kDoubleContinuous;
    spec.start_price_minor = 100;
    const AuctionId id = a.engine().CreateAuction(kSeller, "book", spec, kT0)->auction_id;
    uint32_t entries[2];
    for (int i = 0; i < 2; ++i) {
      const std::string key = absl::StrCat("s", i);  // the command views it
      PlaceBidCommand sell = testing::BidCommand(id, testing::kAlice, key, 150);
      sell.side = Side::kSell;
      sell.quantity = 5 + i;
      absl::StatusOr<BidResult> r = a.engine().PlaceBid(sell, kT0);
      ASSERT_TRUE(r.ok() && r->reason == RejectReason::kNone);
      entries[i] = r->entry;
    }
    ASSERT_EQ(*a.engine().CancelBid(testing::kAlice, id, entries[0], kT0, "undo"), 5);
    if (snapshot) {
      CompactionStats stats;
      ASSERT_TRUE(a.Snapshot(kT0, &stats).ok());
      ASSERT_GT(stats.snapshot_number, 0u);
    } else {
      ASSERT_TRUE(a.Step(kT0).ok());
    }
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    NamedPrincipals fresh(7);  // other ids for the same names
    RecoveryReport report;
    std::unique_ptr<JournaledEngine> b = Restore(crashed.get(), &fresh, 1u << 20, &report);
    EXPECT_EQ(b->engine().StateHash(), a.engine().StateHash());
    const PrincipalId alice = fresh.Translate(testing::kAlice);
    // Resent on the same order, or by mistake on the other: the first answer.
    EXPECT_EQ(*b->engine().CancelBid(alice, id, entries[0], kT0, "undo"), 5);
    EXPECT_EQ(*b->engine().CancelBid(alice, id, entries[1], kT0, "undo"), 5);
    const auto* book = static_cast<const DoubleAuction*>(b->engine().Find(id));
    ASSERT_EQ(book->StatusOf(entries[1])->resting, 6);
    EXPECT_EQ(*b->engine().CancelBid(alice, id, entries[1], kT0, "undo-2"), 6);
  }
}

TEST(JournaledShard, AcknowledgesOnlyWhatACrashWouldKeep) {
  MemEnv env;
  NamedPrincipals names;
  ManualClock clock(kT0);
  DurableCheckingDownstream downstream(&env);
  ShardOptions o = MemShardOptions(&env, Durability::kSync);
  o.journal.max_file_bytes = 2000;  // rolls too
  Shard shard(o, &clock, &names, &downstream);
  ASSERT_TRUE(shard.Recover(&names).ok());
  shard.Start();
  AuctionId id = 0;
  RunOn(shard, [&](ShardContext& c) {
    AuctionSpec spec = testing::EnglishSpec();
    spec.ends_at = kT0 + absl::Minutes(5);
    id = c.engine.CreateAuction(kSeller, "a", spec, c.now)->auction_id;
  });
  BidTask::Counters counters;
  counters.env = &env;
  constexpr int kBids = 40;
  for (int i = 0; i < kBids; ++i) {
    ASSERT_TRUE(shard.Submit(new BidTask(id, absl::StrCat("k", i), 1000 + 100 * i, &counters)));
  }
  ASSERT_TRUE(WaitFor([&] { return counters.acked.load() == kBids; }));
  EXPECT_EQ(counters.acked_not_durable.load(), 0);
  clock.Advance(absl::Minutes(6));  // the auction closes on a timer
  ASSERT_TRUE(WaitFor([&] { return downstream.count.load() == 1; }));
  EXPECT_EQ(downstream.not_durable.load(), 0);
  shard.Stop();
  EXPECT_FALSE(shard.final_state_hash().empty());
}

TEST(JournaledShard, AFailedFsyncStopsAcknowledgingForGood) {
  MemEnv env;
  NamedPrincipals names;
  ManualClock clock(kT0);
  DurableCheckingDownstream downstream(nullptr);
  ShardOptions o = MemShardOptions(&env, Durability::kSync);
  std::atomic<int> failures{0};
  std::string failure_message;
  o.on_journal_failure = [&](const absl::Status& st) {
    failure_message = std::string(st.message());
    failures.fetch_add(1);
  };
  Shard shard(o, &clock, &names, &downstream);
  ASSERT_TRUE(shard.Recover(&names).ok());
  shard.Start();
  AuctionId id = 0;
  RunOn(shard, [&](ShardContext& c) {
    id = c.engine.CreateAuction(kSeller, "a", testing::EnglishSpec(), c.now)->auction_id;
  });
  BidTask::Counters counters;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(shard.Submit(new BidTask(id, absl::StrCat("ok", i), 1000 + 10 * i, &counters)));
  }
  ASSERT_TRUE(WaitFor([&] { return counters.acked.load() == 10; }));
  // From now on every fdatasync fails (the disk is gone).
  env.FailSyncsAfter(0);
  const int64_t syncs_before = env.sync_count();
  constexpr int kMore = 50;
  for (int i = 0; i < kMore; ++i) {
    ASSERT_TRUE(shard.Submit(new BidTask(id, absl::StrCat("lost", i), 5000 + 10 * i, &counters)));
  }
  ASSERT_TRUE(WaitFor([&] { return counters.abandoned.load() == kMore; }));
  EXPECT_EQ(counters.acked.load(), 10);  // nothing acknowledged after the failure
  EXPECT_EQ(counters.acked_after_abandon.load(), 0);
  EXPECT_EQ(failures.load(), 1);
  EXPECT_THAT(failure_message, ::testing::HasSubstr("fdatasync"));
  EXPECT_TRUE(shard.journal_failed());
  EXPECT_EQ(env.sync_count(), syncs_before + 1);  // one attempt, never retried
  shard.Stop();  // does not hang, writes no snapshot
  EXPECT_EQ(env.sync_count(), syncs_before + 1);

  // Whatever was acknowledged is in the journal.
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(DurablyHasBid(*crashed, id, absl::StrCat("ok", i))) << i;
  }
}

TEST(JournaledShard, BatchModeAcknowledgesBeforeTheSyncAndSyncsWithinTheInterval) {
  MemEnv env;
  NamedPrincipals names;
  ManualClock clock(kT0);
  DurableCheckingDownstream downstream(nullptr);
  ShardOptions o = MemShardOptions(&env, Durability::kBatch);
  o.journal.batch_interval = absl::Milliseconds(5);
  Shard shard(o, &clock, &names, &downstream);
  ASSERT_TRUE(shard.Recover(&names).ok());
  shard.Start();
  AuctionId id = 0;
  RunOn(shard, [&](ShardContext& c) {
    id = c.engine.CreateAuction(kSeller, "a", testing::EnglishSpec(), c.now)->auction_id;
  });
  const int64_t syncs_before = env.sync_count();
  BidTask::Counters counters;
  ASSERT_TRUE(shard.Submit(new BidTask(id, "b", 2000, &counters)));
  ASSERT_TRUE(WaitFor([&] { return counters.acked.load() == 1; }));
  // The sync comes within the interval of (manual) time: advance past it.
  clock.Advance(absl::Milliseconds(6));
  ASSERT_TRUE(WaitFor([&] { return env.sync_count() > syncs_before; }));
  shard.Stop();
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  EXPECT_TRUE(DurablyHasBid(*crashed, id, "b"));
}

TEST(JournaledShard, RestartsFromItsSnapshotWithTheSameStateAndOutbox) {
  const std::string dir =
      absl::StrCat(::testing::TempDir(), "/gavel-shard-restart-", getpid(), "/shard-0");
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  NamedPrincipals names;
  ManualClock clock(kT0);
  ShardOptions o;
  o.journal.dir = dir;  // the POSIX Env
  o.journal.max_file_bytes = 4096;
  o.log = [](const std::string&) {};
  std::string hash;
  std::vector<AuctionId> ids;
  {
    DurableCheckingDownstream downstream(nullptr);
    ASSERT_TRUE(std::filesystem::create_directories(dir));
    Shard shard(o, &clock, &names, &downstream);
    ASSERT_TRUE(shard.Recover(&names).ok());
    shard.Start();
    RunOn(shard, [&](ShardContext& c) {
      for (int i = 0; i < 6; ++i) {
        AuctionSpec spec = testing::EnglishSpec();
        spec.ends_at = kT0 + absl::Minutes(10 * (i + 1));
        ids.push_back(c.engine.CreateAuction(kSeller, absl::StrCat(i), spec, c.now)->auction_id);
      }
    });
    BidTask::Counters counters;
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(shard.Submit(
          new BidTask(ids[i % ids.size()], absl::StrCat("k", i), 1000 + 50 * i, &counters)));
    }
    ASSERT_TRUE(WaitFor([&] { return counters.acked.load() == 300; }));
    clock.Advance(absl::Minutes(25));  // two auctions close
    ASSERT_TRUE(WaitFor([&] { return downstream.count.load() == 2; }));
    RunOn(shard, [&](ShardContext& c) { c.engine.MarkSettled(ids[0]); });
    shard.Stop();
    hash = shard.final_state_hash();
  }
  // A clean stop leaves one snapshot and nothing else.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    files.push_back(e.path().filename().string());
  }
  ASSERT_EQ(files.size(), 1u) << ::testing::PrintToString(files);
  EXPECT_THAT(files[0], ::testing::StartsWith("snapshot-"));

  DurableCheckingDownstream downstream(nullptr);
  Shard again(o, &clock, &names, &downstream);
  absl::StatusOr<ShardRecovery> rec = again.Recover(&names);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->state_hash, hash);
  EXPECT_EQ(rec->live_auctions, 5u);  // ids[0] was settled and dropped
  EXPECT_EQ(rec->outbox, 1u);         // ids[1] closed, not yet in PostgreSQL
  EXPECT_EQ(downstream.count.load(), 1);
  again.Start();
  again.Stop();
  EXPECT_EQ(again.final_state_hash(), hash);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

}  // namespace
}  // namespace gavel
