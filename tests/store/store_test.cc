// Store against a real PostgreSQL (the ctest `postgres` fixture), one fresh schema per test.
#include "server/store/store.h"

#include <limits>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/audit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/migrations.h"
#include "tests/store/store_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::ExpectSameSettlement;
using ::gavel::testing::RichSettlement;
using ::gavel::testing::SimpleSettlement;
using ::gavel::testing::TestSchema;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixMicros(1717200000000000);  // 2024-06-01

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(schema_.ok());
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(schema_.conninfo());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  absl::Status Write(const std::vector<Settlement>& settlements) {
    std::vector<const Settlement*> batch;
    for (const Settlement& s : settlements) batch.push_back(&s);
    return store_->WriteSettlements(batch);
  }

  // Row counts of every table, to show that a write changed nothing.
  std::vector<int64_t> RowCounts() {
    return {schema_.Count("auctions"), schema_.Count("settlements"),
            schema_.Count("settlement_winners"), schema_.Count("bids"), schema_.Count("trades")};
  }

  std::vector<std::string> Ids(const SettlementFilter& filter) {
    absl::StatusOr<SettlementPage> page = store_->ListSettlements(filter);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> ids;
    if (page.ok()) {
      for (const Settlement& s : page->settlements) ids.push_back(s.auction_id);
    }
    return ids;
  }

  TestSchema schema_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, WrittenSettlementReadsBackFieldForField) {
  const Settlement rich = RichSettlement("A17");
  ASSERT_TRUE(Write({rich}).ok());

  absl::StatusOr<Settlement> got = store_->GetSettlement("A17");
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameSettlement(rich, *got);
  // What an auditor recomputes from the stored rows matches.
  ChainCheck check = VerifyHashChain(*got);
  EXPECT_TRUE(check.valid) << check.message;
  EXPECT_EQ(check.recomputed_final_hash, rich.final_hash);
}

TEST_F(StoreTest, MicrosecondTimesAndExtremeValuesRoundTripExactly) {
  Settlement s = SimpleSettlement("A1", kT0);
  s.spec.starts_at = absl::FromUnixMicros(-1);  // 1969-12-31 23:59:59.999999
  s.spec.ends_at =
      absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone()) +
      absl::Microseconds(999999);
  s.created_at = absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone()) +
                 absl::Microseconds(1);  // 0001-01-01 00:00:00.000001
  s.closed_at = absl::InfiniteFuture();
  s.spec.soft_close = {true, absl::Microseconds(1), absl::Hours(24 * 365 * 200),
                       absl::InfiniteDuration()};
  s.spec.dutch.tick_interval = absl::ZeroDuration();
  s.spec.quantity = std::numeric_limits<int64_t>::max();
  s.spec.start_price_minor = std::numeric_limits<int64_t>::min();
  s.clearing_price_minor = -1;
  s.bids[0].sequence = (uint64_t{1} << 63) + 5;  // the bits survive bigint
  s.bids[0].at = absl::InfinitePast();
  s.bids[1].sequence = 0;
  ASSERT_TRUE(Write({s}).ok());

  absl::StatusOr<Settlement> got = store_->GetSettlement("A1");
  ASSERT_TRUE(got.ok()) << got.status();
  // Bids come back ordered by the signed bigint, so 2^63 + 5 (negative there) stays first.
  ExpectSameSettlement(s, *got);
}

TEST_F(StoreTest, TimesAreStoredAsTimestamptzAtMicrosecondPrecision) {
  ASSERT_TRUE(Write({RichSettlement("A17")}).ok());
  EXPECT_THAT(
      schema_.Query("SELECT to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') "
                    "FROM settlements"),
      ElementsAre("2024-05-08 12:51:30.999999"));
  EXPECT_THAT(schema_.Query("SELECT soft_close_extension::text FROM auctions"),
              ElementsAre("00:02:00.000007"));
  EXPECT_THAT(schema_.Query("SELECT increment_table::text FROM auctions"),
              ElementsAre(R"([{"from_minor": 0, "step_minor": 50}, )"
                          R"({"from_minor": 10000, "step_minor": 100}, )"
                          R"({"from_minor": 100000, "step_minor": 500}])"));
}

TEST_F(StoreTest, WritingTheSameSettlementTwiceChangesNothing) {
  const Settlement first = RichSettlement("A17");
  ASSERT_TRUE(Write({first}).ok());
  const std::vector<int64_t> counts = RowCounts();
  EXPECT_EQ(counts, (std::vector<int64_t>{1, 1, 2, 5, 2}));

  ASSERT_TRUE(Write({first}).ok());
  EXPECT_EQ(RowCounts(), counts);

  Settlement second = first;
  second.spec.title = "another title";
  second.outcome = SettlementOutcome::kUnsoldReserveNotMet;
  second.winners.clear();
  second.bids.push_back(second.bids.back());
  second.bids.back().sequence = 99;
  ASSERT_TRUE(Write({second}).ok());
  EXPECT_EQ(RowCounts(), counts);

  absl::StatusOr<Settlement> got = store_->GetSettlement("A17");
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameSettlement(first, *got);  // the first version wins
}

TEST_F(StoreTest, BatchMixingNewAndWrittenSettlementsWritesTheNewOnes) {
  const Settlement a = SimpleSettlement("A1", kT0);
  ASSERT_TRUE(Write({a}).ok());

  Settlement a_again = a;
  a_again.spec.title = "changed";
  const Settlement b = RichSettlement("A2");
  const Settlement c = SimpleSettlement("A3", kT0 + absl::Seconds(1));
  Settlement c_twice = c;
  c_twice.seller_id = "mallory";
  ASSERT_TRUE(Write({b, a_again, c, c_twice}).ok());

  EXPECT_EQ(schema_.Count("settlements"), 3);
  EXPECT_EQ(schema_.Count("bids"), 2 + 5 + 2);
  for (const Settlement* want : {&a, &b, &c}) {
    absl::StatusOr<Settlement> got = store_->GetSettlement(want->auction_id);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameSettlement(*want, *got);
  }
}

TEST_F(StoreTest, EmptyBatchIsOk) { EXPECT_TRUE(store_->WriteSettlements({}).ok()); }

TEST_F(StoreTest, NulByteIsInvalidArgumentAndNothingOfTheBatchIsWritten) {
  Settlement bad = SimpleSettlement("A2", kT0);
  bad.spec.title = std::string("bad\0title", 9);
  absl::Status status = Write({SimpleSettlement("A1", kT0), bad});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("writing settlement batch of 2"));
  EXPECT_THAT(status.message(), HasSubstr("A2"));
  EXPECT_THAT(status.message(), HasSubstr("title"));
  EXPECT_EQ(schema_.Count("settlements"), 0);
}

TEST_F(StoreTest, InvalidUtf8IsInvalidArgument) {
  for (const std::string& text : {std::string("\xff\xfe"), std::string("caf\xc3"),
                                  std::string("\xc0\xaf"),             // overlong '/'
                                  std::string("\xed\xa0\x80"),         // a surrogate
                                  std::string("\xf4\x90\x80\x80")}) {  // past U+10FFFF
    Settlement bad = SimpleSettlement("A1", kT0);
    bad.bids[1].bidder_id = text;
    absl::Status status = Write({bad});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << absl::CHexEscape(text);
    EXPECT_THAT(status.message(), HasSubstr("bids.bidder_id is not valid UTF-8"));
  }
  EXPECT_EQ(schema_.Count("settlements"), 0);
}

TEST_F(StoreTest, DataPostgresRefusesIsInvalidArgument) {
  Settlement bad = SimpleSettlement("A1", kT0);
  bad.bids[1].sequence = bad.bids[0].sequence;  // the bid log's primary key
  absl::Status status = Write({bad});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("writing settlement batch of 1: "));
  EXPECT_EQ(schema_.Count("settlements"), 0);
}

TEST_F(StoreTest, TimesOutsideYears1To9999AreInvalidArgument) {
  Settlement s = SimpleSettlement("A1", kT0);
  s.closed_at = absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  absl::Status status = Write({s});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("closed_at"));
  s = SimpleSettlement("A1", kT0);
  s.bids[0].at = absl::FromUnixMicros(std::numeric_limits<int64_t>::max());
  status = Write({s});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("bids.at"));
  EXPECT_EQ(schema_.Count("settlements"), 0);
}

TEST_F(StoreTest, GetUnknownSettlementIsNotFound) {
  absl::StatusOr<Settlement> got = store_->GetSettlement("A404");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("A404"));
  EXPECT_THAT(got.status().message(),
              HasSubstr("the auction has not closed yet, or does not exist"));
}

// A PostgreSQL nobody listens for: UNAVAILABLE, said as such, on one line
// whose sentences do not run into each other.
TEST(StoreConnectTest, AnUnreachableServerIsUnavailableOnOneReadableLine) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open("host=127.0.0.1 port=1 dbname=none user=none connect_timeout=2");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  const std::string message(store.status().message());
  EXPECT_THAT(message, HasSubstr("connecting to PostgreSQL: the database is unreachable ("));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find("refused Is"), std::string::npos) << message;
}

TEST_F(StoreTest, ListSettlementsFilters) {
  ASSERT_TRUE(
      Write({
                SimpleSettlement("A1", kT0, "alice", Format::kEnglish),
                SimpleSettlement("A2", kT0 + absl::Hours(1), "bob", Format::kDutch),
                SimpleSettlement("A3", kT0 + absl::Hours(2), "alice", Format::kSealedFirstPrice,
                                 SettlementOutcome::kUnsoldNoBids),
                SimpleSettlement("A4", kT0 + absl::Hours(3), "alice", Format::kEnglish,
                                 SettlementOutcome::kUnsoldReserveNotMet),
                SimpleSettlement("A5", kT0 + absl::Hours(4), "carol", Format::kEnglish,
                                 SettlementOutcome::kCancelled),
            })
          .ok());

  EXPECT_THAT(Ids({}), ElementsAre("A1", "A2", "A3", "A4", "A5"));
  // closed_after is inclusive, closed_before exclusive.
  EXPECT_THAT(Ids({.closed_after = kT0 + absl::Hours(1), .closed_before = kT0 + absl::Hours(3)}),
              ElementsAre("A2", "A3"));
  EXPECT_THAT(Ids({.closed_after = kT0 + absl::Hours(3) + absl::Microseconds(1)}),
              ElementsAre("A5"));
  EXPECT_THAT(Ids({.closed_before = kT0 + absl::Microseconds(1)}), ElementsAre("A1"));
  EXPECT_THAT(Ids({.seller_id = "alice"}), ElementsAre("A1", "A3", "A4"));
  EXPECT_THAT(Ids({.seller_id = "nobody"}), ElementsAre());
  EXPECT_THAT(Ids({.format = Format::kEnglish}), ElementsAre("A1", "A4", "A5"));
  EXPECT_THAT(Ids({.outcome = SettlementOutcome::kSold}), ElementsAre("A1", "A2"));
  EXPECT_THAT(Ids({.outcome = SettlementOutcome::kCancelled}), ElementsAre("A5"));
  EXPECT_THAT(Ids({.closed_after = kT0 + absl::Minutes(1),
                   .seller_id = "alice",
                   .format = Format::kEnglish,
                   .outcome = SettlementOutcome::kUnsoldReserveNotMet}),
              ElementsAre("A4"));
}

TEST_F(StoreTest, ListedSettlementsAreCompleteSummariesWithoutBids) {
  const Settlement rich = RichSettlement("A17");
  ASSERT_TRUE(Write({rich, SimpleSettlement("A18", rich.closed_at)}).ok());
  absl::StatusOr<SettlementPage> page = store_->ListSettlements({});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->settlements.size(), 2u);
  ExpectSameSettlement(rich, page->settlements[0], /*with_bids=*/false);
  EXPECT_EQ(page->settlements[1].auction_id, "A18");
  EXPECT_EQ(page->settlements[1].winners.size(), 1u);
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(StoreTest, PagingThroughSevenSettlementsReturnsEachOnceInOrder) {
  // Three share a closed_at, so auction_id breaks the tie; written out of order.
  std::vector<Settlement> all = {SimpleSettlement("A7", kT0 + absl::Seconds(5)),
                                 SimpleSettlement("A3", kT0),
                                 SimpleSettlement("A1", kT0 + absl::Seconds(1)),
                                 SimpleSettlement("A2", kT0),
                                 SimpleSettlement("A6", kT0 + absl::Microseconds(2)),
                                 SimpleSettlement("A5", kT0 + absl::Microseconds(1)),
                                 SimpleSettlement("A4", kT0)};
  ASSERT_TRUE(Write(all).ok());

  std::vector<std::string> seen;
  std::vector<size_t> page_sizes;
  SettlementFilter filter{.page_size = 3};
  for (int pages = 0; pages < 10; ++pages) {
    absl::StatusOr<SettlementPage> page = store_->ListSettlements(filter);
    ASSERT_TRUE(page.ok()) << page.status();
    page_sizes.push_back(page->settlements.size());
    for (const Settlement& s : page->settlements) seen.push_back(s.auction_id);
    if (page->next_page_token.empty()) break;
    filter.page_token = page->next_page_token;
  }
  EXPECT_THAT(page_sizes, ElementsAre(3, 3, 1));
  EXPECT_THAT(seen, ElementsAre("A2", "A3", "A4", "A5", "A6", "A1", "A7"));
}

TEST_F(StoreTest, ExactlyFullLastPageEndsWithEmptyToken) {
  ASSERT_TRUE(Write({SimpleSettlement("A1", kT0), SimpleSettlement("A2", kT0)}).ok());
  absl::StatusOr<SettlementPage> page = store_->ListSettlements({.page_size = 2});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->settlements.size(), 2u);
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(StoreTest, PageSizeDefaultsTo50AndIsCappedAt500) {
  std::vector<Settlement> many;
  for (int i = 0; i < 501; ++i) {
    many.push_back(SimpleSettlement(absl::StrCat("A", 1000 + i), kT0 + absl::Seconds(i)));
  }
  ASSERT_TRUE(Write(many).ok());
  EXPECT_EQ(Ids({}).size(), 50u);
  EXPECT_EQ(Ids({.page_size = 10000}).size(), 500u);
}

TEST_F(StoreTest, BadFiltersAndPageTokensAreInvalidArgument) {
  ASSERT_TRUE(Write({SimpleSettlement("A1", kT0), SimpleSettlement("A2", kT0)}).ok());
  absl::StatusOr<SettlementPage> first = store_->ListSettlements({.page_size = 1});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token.empty());

  auto code = [&](const SettlementFilter& f) { return store_->ListSettlements(f).status(); };
  for (const std::string& token :
       {std::string("garbage!"), std::string("%%%"), absl::WebSafeBase64Escape("1:x:y:A1"),
        absl::WebSafeBase64Escape("2:0:0000000000000000:A1"),
        first->next_page_token.substr(0, first->next_page_token.size() / 2)}) {
    absl::Status status = code({.page_token = token});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << token << ": " << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), "page_token: ")) << status;
  }
  // A token belongs to the filter that produced it.
  absl::Status other = code({.seller_id = "alice", .page_token = first->next_page_token});
  EXPECT_EQ(other.code(), absl::StatusCode::kInvalidArgument) << other;
  EXPECT_THAT(other.message(), HasSubstr("different filter"));
  EXPECT_TRUE(code({.page_size = 1, .page_token = first->next_page_token}).ok());

  EXPECT_EQ(code({.page_size = -1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.format = static_cast<Format>(99)}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.outcome = static_cast<SettlementOutcome>(99)}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.closed_after = kT0, .closed_before = kT0 - absl::Seconds(1)}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, FastTestClusterSettingsAreReported) {
  absl::StatusOr<std::vector<std::string>> warnings = store_->DatabaseSettingsWarnings();
  ASSERT_TRUE(warnings.ok()) << warnings.status();
  // The ctest cluster runs with --fast.
  EXPECT_THAT(*warnings, ::testing::Contains(HasSubstr("fsync=off")));
  EXPECT_THAT(*warnings, ::testing::Contains(HasSubstr("synchronous_commit=off")));
}

TEST(StoreOpenTest, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open("host=127.0.0.1 port=1 user=gavel dbname=gavel connect_timeout=2");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr("connecting to PostgreSQL: "));
  EXPECT_THAT(std::string(store.status().message()), ::testing::Not(HasSubstr("\n")));
}

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(schema_.ok()); }

  // Everything a migration could change, as text.
  std::vector<std::string> Snapshot() {
    std::vector<std::string> out;
    for (const char* sql : {
             "SELECT version || ' ' || name || ' ' || applied_at FROM schema_migrations "
             "ORDER BY version",
             "SELECT table_name FROM information_schema.tables "
             "WHERE table_schema = current_schema() ORDER BY 1",
             "SELECT indexname || ' ' || indexdef FROM pg_indexes "
             "WHERE schemaname = current_schema() ORDER BY 1",
             "SELECT table_name || '.' || column_name || ' ' || data_type "
             "FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1",
         }) {
      for (std::string& row : schema_.Query(sql)) out.push_back(std::move(row));
    }
    return out;
  }

  TestSchema schema_;
};

TEST_F(MigrationsTest, AppliedTwiceChangeNothing) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(schema_.conninfo());
    ASSERT_TRUE(store.ok()) << store.status();
  }
  const std::vector<std::string> before = Snapshot();
  EXPECT_THAT(schema_.Query("SELECT table_name FROM information_schema.tables WHERE "
                            "table_schema = current_schema() ORDER BY 1"),
              ElementsAre("auctions", "bids", "schema_migrations", "settlement_winners",
                          "settlements", "trades"));
  EXPECT_EQ(schema_.Count("schema_migrations"), static_cast<int64_t>(SchemaMigrations().size()));

  pqxx::connection conn(schema_.conninfo());
  absl::StatusOr<int> version = ApplyMigrations(conn);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, SchemaMigrations().back().version);
  absl::StatusOr<std::unique_ptr<Store>> again = Store::Open(schema_.conninfo());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(MigrationsTest, ServersStartingTogetherApplyThemOnce) {
  std::vector<absl::Status> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = Store::Open(schema_.conninfo()).status(); });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(schema_.Count("schema_migrations"), static_cast<int64_t>(SchemaMigrations().size()));
}

TEST_F(MigrationsTest, ForeignSchemaHistoryIsFailedPrecondition) {
  schema_.Query(
      "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
      "applied_at timestamptz NOT NULL DEFAULT now()); "
      "INSERT INTO schema_migrations (version, name) VALUES (1, 'something else') "
      "RETURNING version");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(schema_.conninfo());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

}  // namespace
}  // namespace gavel

namespace gavel {
namespace {

TEST_F(StoreTest, HighestAuctionNumberComparesNumbersNotText) {
  absl::StatusOr<uint64_t> empty = store_->HighestAuctionNumber();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, 0u);
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  // As text "A9" > "A10"; as numbers 10 is the highest.
  ASSERT_TRUE(Write({SimpleSettlement("A9", t), SimpleSettlement("A10", t + absl::Seconds(1))}).ok());
  absl::StatusOr<uint64_t> highest = store_->HighestAuctionNumber();
  ASSERT_TRUE(highest.ok()) << highest.status();
  EXPECT_EQ(*highest, 10u);
}

}  // namespace
}  // namespace gavel
