#include "tests/store/store_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "engine/audit.h"

// For LeakSanitizer builds: libpqxx 6.4 leaks one PGresult (about 2 KB, allocated inside
// libpq) each time it runs a statement on a connection the server has dropped; its
// make_result() throws "Could not obtain client encoding" before taking ownership. The writer
// tests drop connections on purpose. Only allocations made inside libpq are ignored: a leaked
// pqxx or Store object is still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace gavel::testing {
namespace {

std::string RandomSuffix() {
  std::random_device rd;
  return absl::StrFormat("%d_%08x", getpid(), rd());
}

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string FixtureConninfo() {
  const char* file = std::getenv("GAVEL_TEST_CONNINFO_FILE");
  if (file == nullptr || *file == '\0') {
    ADD_FAILURE() << "GAVEL_TEST_CONNINFO_FILE is not set: the store tests need the PostgreSQL "
                     "cluster that ctest starts. Run them through ctest, e.g. "
                     "`cd build/debug && ctest -R 'store|postgres' --output-on-failure`.";
    return "";
  }
  std::string conninfo(absl::StripAsciiWhitespace(ReadFile(file)));
  if (conninfo.empty()) {
    ADD_FAILURE() << "no conninfo in " << file << ": did the postgres_start test fail?";
  }
  return conninfo;
}

TestSchema::TestSchema() : base_conninfo_(FixtureConninfo()) {
  if (base_conninfo_.empty()) return;
  name_ = absl::StrCat("test_", RandomSuffix());
  try {
    pqxx::connection conn(base_conninfo_);
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("CREATE SCHEMA ", name_));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "creating schema " << name_ << ": " << e.what();
    return;
  }
  conninfo_ = absl::StrCat(base_conninfo_, " options='-c search_path=", name_, "'");
}

TestSchema::~TestSchema() {
  if (conninfo_.empty()) return;
  try {
    pqxx::connection conn(base_conninfo_);
    pqxx::nontransaction tx(conn);
    tx.exec("SET client_min_messages = warning");
    tx.exec(absl::StrCat("DROP SCHEMA ", name_, " CASCADE"));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping schema " << name_ << ": " << e.what();
  }
}

std::vector<std::string> TestSchema::Query(const std::string& sql) const {
  std::vector<std::string> out;
  try {
    pqxx::connection conn(conninfo_);
    pqxx::nontransaction tx(conn);
    for (const pqxx::row& row : tx.exec(sql)) {
      out.push_back(row[0].is_null() ? "NULL" : row[0].as<std::string>());
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << sql << ": " << e.what();
  }
  return out;
}

int64_t TestSchema::Count(const std::string& table) const {
  std::vector<std::string> rows = Query(absl::StrCat("SELECT count(*) FROM ", table));
  int64_t n = -1;
  if (rows.size() != 1 || !absl::SimpleAtoi(rows[0], &n)) ADD_FAILURE() << "count " << table;
  return n;
}

CommandResult Run(const std::vector<std::string>& argv) {
  std::string command;
  for (const std::string& arg : argv) absl::StrAppend(&command, ShellQuote(arg), " ");
  command += "2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

PrivateCluster::PrivateCluster() : dir_(absl::StrCat("/tmp/gavel-store-test.", RandomSuffix())) {}

PrivateCluster::~PrivateCluster() {
  CommandResult r = Run({GAVEL_PG_SH, "stop", dir_, "--remove"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

std::string PrivateCluster::Start(int port) {
  std::vector<std::string> argv = {GAVEL_PG_SH, "start", dir_, "--fast"};
  if (port != 0) {
    argv.push_back("--port");
    argv.push_back(absl::StrCat(port));
  }
  CommandResult r = Run(argv);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "pg.sh start " << dir_ << " failed (" << r.exit_code << "): " << r.output;
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(ReadFile(dir_ + "/conninfo")));
}

void PrivateCluster::Stop() {
  CommandResult r = Run({GAVEL_PG_SH, "stop", dir_});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

int PrivateCluster::port() const {
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(dir_ + "/port")), &port));
  return port;
}

Settlement RichSettlement(const std::string& auction_id) {
  Settlement s;
  s.auction_id = auction_id;
  s.seller_id = "alice";
  AuctionSpec& spec = s.spec;
  spec.title = "Céramique ancienne — 花瓶 🏺";
  spec.description = "Line one\nLine two\twith a tab, 'quotes', \"double\", \\backslash and 100%";
  spec.category = "art/ceramics";
  spec.format = Format::kEnglish;
  spec.currency = "EUR";
  spec.quantity = 1;
  spec.start_price_minor = 1000;
  spec.reserve_price_minor = 50000;
  spec.buy_now_price_minor = 250000;
  spec.starts_at = absl::FromUnixMicros(1714567890123456);
  spec.ends_at = absl::FromUnixMicros(1715172690000001);
  spec.soft_close = {true, absl::Minutes(5), absl::Seconds(120) + absl::Microseconds(7),
                     absl::Hours(1)};
  spec.dutch = {25, absl::Milliseconds(1500), 700};
  spec.increment_table = {{0, 50}, {10000, 100}, {100000, 500}};
  s.outcome = SettlementOutcome::kSold;
  s.winners = {{"bob", 1, 51000, auction_id + "-4"}, {"dora", 2, 50500, auction_id + "-2"}};
  s.trades = {{auction_id + "-1", auction_id + "-2", "bob", "carol", 1234, 2},
              {auction_id + "-3", auction_id + "-2", "dora\\\t", "carol", 1235, 1}};
  s.clearing_price_minor = 51000;
  s.created_at = absl::FromUnixMicros(1714560000000001);
  s.closed_at = absl::FromUnixMicros(1715172690999999);
  auto bid = [&](Sequence seq, int entry, std::string bidder, int64_t amount, Side side,
                 int64_t at_micros, std::string result) {
    BidLogEntry b;
    b.sequence = seq;
    b.bid_id = absl::StrCat(auction_id, "-", entry);
    b.bidder_id = std::move(bidder);
    b.amount_minor = amount;
    b.quantity = 1;
    b.side = side;
    b.at = absl::FromUnixMicros(at_micros);
    b.result = std::move(result);
    return b;
  };
  s.bids = {bid(11, 1, "bob", 40000, Side::kNone, 1714567890200001, "ACCEPTED"),
            bid(12, 2, "dora", 50500, Side::kBuy, 1714567890200002, "ACCEPTED"),
            bid(15, 3, "erin\twith a tab, a \\ and a\nnewline", 900, Side::kSell, 1714567899999999,
                "BID_TOO_LOW"),
            bid(16, 0, "alice", 60000, Side::kNone, 1715172600000000, "SELF_BID"),
            bid(20, 4, "bob", 51000, Side::kNone, 1715172690000000, "ACCEPTED")};
  ComputeHashChain(&s);
  return s;
}

Settlement SimpleSettlement(const std::string& auction_id, absl::Time closed_at,
                            const std::string& seller_id, Format format,
                            SettlementOutcome outcome) {
  Settlement s;
  s.auction_id = auction_id;
  s.seller_id = seller_id;
  s.spec.title = absl::StrCat("Lot ", auction_id);
  s.spec.format = format;
  s.spec.currency = "USD";
  s.spec.start_price_minor = 100;
  s.spec.starts_at = closed_at - absl::Hours(1);
  s.spec.ends_at = closed_at;
  s.outcome = outcome;
  s.created_at = closed_at - absl::Hours(2);
  s.closed_at = closed_at;
  if (outcome == SettlementOutcome::kSold) {
    s.winners = {{"bob", 1, 150, auction_id + "-2"}};
    s.clearing_price_minor = 150;
  }
  for (int i = 1; i <= 2; ++i) {
    BidLogEntry b;
    b.sequence = static_cast<Sequence>(i);
    b.bid_id = absl::StrCat(auction_id, "-", i);
    b.bidder_id = i == 1 ? "carol" : "bob";
    b.amount_minor = 100 + 50 * (i - 1);
    b.quantity = 1;
    b.at = closed_at - absl::Minutes(10 - i);
    b.result = "ACCEPTED";
    s.bids.push_back(b);
  }
  ComputeHashChain(&s);
  return s;
}

void ExpectSameSettlement(const Settlement& want, const Settlement& got, bool with_bids) {
  SCOPED_TRACE(absl::StrCat("settlement ", want.auction_id));
  EXPECT_EQ(got.auction_id, want.auction_id);
  EXPECT_EQ(got.seller_id, want.seller_id);
  const AuctionSpec& a = want.spec;
  const AuctionSpec& b = got.spec;
  EXPECT_EQ(b.title, a.title);
  EXPECT_EQ(b.description, a.description);
  EXPECT_EQ(b.category, a.category);
  EXPECT_EQ(b.format, a.format);
  EXPECT_EQ(b.currency, a.currency);
  EXPECT_EQ(b.quantity, a.quantity);
  EXPECT_EQ(b.start_price_minor, a.start_price_minor);
  EXPECT_EQ(b.reserve_price_minor, a.reserve_price_minor);
  EXPECT_EQ(b.buy_now_price_minor, a.buy_now_price_minor);
  EXPECT_EQ(b.starts_at, a.starts_at);
  EXPECT_EQ(b.ends_at, a.ends_at);
  EXPECT_EQ(b.soft_close.enabled, a.soft_close.enabled);
  EXPECT_EQ(b.soft_close.window, a.soft_close.window);
  EXPECT_EQ(b.soft_close.extension, a.soft_close.extension);
  EXPECT_EQ(b.soft_close.cap, a.soft_close.cap);
  EXPECT_EQ(b.dutch.decrement_minor, a.dutch.decrement_minor);
  EXPECT_EQ(b.dutch.tick_interval, a.dutch.tick_interval);
  EXPECT_EQ(b.dutch.floor_price_minor, a.dutch.floor_price_minor);
  EXPECT_EQ(b.increment_table.size(), a.increment_table.size());
  for (size_t i = 0; i < std::min(a.increment_table.size(), b.increment_table.size()); ++i) {
    EXPECT_EQ(b.increment_table[i].from_minor, a.increment_table[i].from_minor) << "step " << i;
    EXPECT_EQ(b.increment_table[i].step_minor, a.increment_table[i].step_minor) << "step " << i;
  }
  EXPECT_EQ(got.outcome, want.outcome);
  EXPECT_EQ(got.winners.size(), want.winners.size());
  for (size_t i = 0; i < std::min(want.winners.size(), got.winners.size()); ++i) {
    SCOPED_TRACE(absl::StrCat("winner ", i));
    EXPECT_EQ(got.winners[i].bidder_id, want.winners[i].bidder_id);
    EXPECT_EQ(got.winners[i].quantity, want.winners[i].quantity);
    EXPECT_EQ(got.winners[i].price_minor, want.winners[i].price_minor);
    EXPECT_EQ(got.winners[i].bid_id, want.winners[i].bid_id);
  }
  EXPECT_EQ(got.trades.size(), want.trades.size());
  for (size_t i = 0; i < std::min(want.trades.size(), got.trades.size()); ++i) {
    SCOPED_TRACE(absl::StrCat("trade ", i));
    EXPECT_EQ(got.trades[i].buy_bid_id, want.trades[i].buy_bid_id);
    EXPECT_EQ(got.trades[i].sell_bid_id, want.trades[i].sell_bid_id);
    EXPECT_EQ(got.trades[i].buyer_id, want.trades[i].buyer_id);
    EXPECT_EQ(got.trades[i].seller_id, want.trades[i].seller_id);
    EXPECT_EQ(got.trades[i].price_minor, want.trades[i].price_minor);
    EXPECT_EQ(got.trades[i].quantity, want.trades[i].quantity);
  }
  EXPECT_EQ(got.clearing_price_minor, want.clearing_price_minor);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.closed_at, want.closed_at);
  EXPECT_EQ(got.spec_hash, want.spec_hash);
  EXPECT_EQ(got.final_hash, want.final_hash);
  if (!with_bids) {
    EXPECT_TRUE(got.bids.empty());
    return;
  }
  EXPECT_EQ(got.bids.size(), want.bids.size());
  for (size_t i = 0; i < std::min(want.bids.size(), got.bids.size()); ++i) {
    SCOPED_TRACE(absl::StrCat("bid ", i));
    EXPECT_EQ(got.bids[i].sequence, want.bids[i].sequence);
    EXPECT_EQ(got.bids[i].bid_id, want.bids[i].bid_id);
    EXPECT_EQ(got.bids[i].bidder_id, want.bids[i].bidder_id);
    EXPECT_EQ(got.bids[i].amount_minor, want.bids[i].amount_minor);
    EXPECT_EQ(got.bids[i].quantity, want.bids[i].quantity);
    EXPECT_EQ(got.bids[i].side, want.bids[i].side);
    EXPECT_EQ(got.bids[i].at, want.bids[i].at);
    EXPECT_EQ(got.bids[i].result, want.bids[i].result);
    EXPECT_EQ(got.bids[i].hash, want.bids[i].hash);
  }
}

}  // namespace gavel::testing
