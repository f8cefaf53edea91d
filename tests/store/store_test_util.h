// Helpers for the store tests: the ctest-started PostgreSQL, a fresh schema per test, private
// clusters, and settlements to write.
#ifndef GAVEL_TESTS_STORE_STORE_TEST_UTIL_H_
#define GAVEL_TESTS_STORE_STORE_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/settlement.h"
#include "gtest/gtest.h"

namespace gavel::testing {

// The fixture cluster's conninfo, from the file named by GAVEL_TEST_CONNINFO_FILE (set by
// ctest). Adds a gtest failure and returns "" when run outside ctest.
std::string FixtureConninfo();

// A schema of its own in the fixture database for one test, dropped at the end, so tests are
// independent and may run in parallel. conninfo() selects it through search_path.
class TestSchema {
 public:
  TestSchema();
  ~TestSchema();
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;

  bool ok() const { return !conninfo_.empty(); }
  const std::string& name() const { return name_; }
  const std::string& conninfo() const { return conninfo_; }

  // Runs `sql` in this schema; returns the first column of every row as text ("NULL" for null).
  std::vector<std::string> Query(const std::string& sql) const;
  int64_t Count(const std::string& table) const;

 private:
  std::string base_conninfo_;
  std::string name_;
  std::string conninfo_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
CommandResult Run(const std::vector<std::string>& argv);

// A PostgreSQL cluster of its own (scripts/pg.sh in a fresh directory under /tmp), stopped and
// removed at the end of the test.
class PrivateCluster {
 public:
  PrivateCluster();
  ~PrivateCluster();
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  // `pg.sh start DIR --fast [--port port]`; returns the conninfo ("" after a gtest failure).
  std::string Start(int port = 0);
  void Stop();
  int port() const;

 private:
  std::string dir_;
};

// A settlement with every field set to something non-default: soft close, a custom increment
// table, a non-ASCII title, winners, trades, accepted and rejected bids, microsecond times,
// and a valid hash chain.
Settlement RichSettlement(const std::string& auction_id);

// A small settlement for listing and volume tests (two bids, one winner).
Settlement SimpleSettlement(const std::string& auction_id, absl::Time closed_at,
                            const std::string& seller_id = "alice",
                            Format format = Format::kEnglish,
                            SettlementOutcome outcome = SettlementOutcome::kSold);

// Compares every field; bids only when `with_bids`.
void ExpectSameSettlement(const Settlement& want, const Settlement& got, bool with_bids = true);

}  // namespace gavel::testing

#endif  // GAVEL_TESTS_STORE_STORE_TEST_UTIL_H_
