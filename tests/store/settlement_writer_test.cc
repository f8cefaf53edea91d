// SettlementWriter against a real PostgreSQL: the ctest fixture cluster (one schema per test)
// or, to stop and restart PostgreSQL under the writer, a private cluster of the test's own.
#include "server/store/settlement_writer.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/store.h"
#include "tests/store/store_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::PrivateCluster;
using ::gavel::testing::SimpleSettlement;
using ::gavel::testing::TestSchema;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixMicros(1717200000000000);

// Counts on_committed calls per auction_id (the callback runs on the writer thread).
class CommitRecorder {
 public:
  std::function<void(const std::string&)> Callback() {
    return [this](const std::string& id) {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[id];
    };
  }
  std::map<std::string, int> Counts() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }
  size_t Calls() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& [id, count] : counts_) n += count;
    return n;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

// Captures stderr (the writer's log) for the scope; gives it back once.
class StderrCapture {
 public:
  StderrCapture() { ::testing::internal::CaptureStderr(); }
  ~StderrCapture() { Take(); }
  std::string Take() {
    if (taken_) return "";
    taken_ = true;
    return ::testing::internal::GetCapturedStderr();
  }

 private:
  bool taken_ = false;
};

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

std::string Id(int i) { return absl::StrCat("A", i); }

// Every id in [first, last] committed exactly once, and nothing else.
void ExpectCommittedOnce(const std::map<std::string, int>& counts, int first, int last) {
  EXPECT_EQ(counts.size(), static_cast<size_t>(last - first + 1));
  for (int i = first; i <= last; ++i) {
    auto it = counts.find(Id(i));
    if (it == counts.end()) {
      ADD_FAILURE() << Id(i) << " never committed";
    } else {
      EXPECT_EQ(it->second, 1) << Id(i);
    }
  }
}

// Every id in [first, last] stored exactly once.
void ExpectStoredOnce(const std::string& conninfo, int first, int last) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(conninfo);
  ASSERT_TRUE(store.ok()) << store.status();
  std::multiset<std::string> ids;
  SettlementFilter filter{.page_size = 500};
  do {
    absl::StatusOr<SettlementPage> page = (*store)->ListSettlements(filter);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const Settlement& s : page->settlements) ids.insert(s.auction_id);
    filter.page_token = page->next_page_token;
  } while (!filter.page_token.empty());
  EXPECT_EQ(ids.size(), static_cast<size_t>(last - first + 1));
  for (int i = first; i <= last; ++i) EXPECT_EQ(ids.count(Id(i)), 1u) << Id(i);
}

class SettlementWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(schema_.ok()); }

  TestSchema schema_;
  CommitRecorder committed_;
};

TEST_F(SettlementWriterTest, FourThreadsEnqueueHundredAllCommittedExactlyOnce) {
  SettlementWriter writer(schema_.conninfo(), {}, committed_.Callback());
  writer.Start();
  std::vector<std::thread> shards;
  for (int t = 0; t < 4; ++t) {
    shards.emplace_back([&writer, t] {
      for (int i = 0; i < 25; ++i) {
        const int n = 1 + t * 25 + i;
        writer.Enqueue(SimpleSettlement(Id(n), kT0 + absl::Seconds(n)));
      }
    });
  }
  for (std::thread& t : shards) t.join();
  ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(20)))
      << writer.Pending() << " still pending";
  writer.Stop();
  EXPECT_EQ(committed_.Calls(), 100u);
  ExpectCommittedOnce(committed_.Counts(), 1, 100);
  ExpectStoredOnce(schema_.conninfo(), 1, 100);
  EXPECT_EQ(schema_.Count("bids"), 200);
}

TEST_F(SettlementWriterTest, ManyProducersStressTheQueue) {
  constexpr int kThreads = 8, kPerThread = 1000;
  SettlementWriter writer(schema_.conninfo(), {}, committed_.Callback());
  writer.Start();
  // Build first, so that the threads hammer Enqueue at the same moment.
  std::vector<std::vector<Settlement>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const int n = 1 + t * kPerThread + i;
      work[t].push_back(SimpleSettlement(Id(n), kT0 + absl::Milliseconds(n)));
    }
  }
  std::vector<std::thread> shards;
  for (int t = 0; t < kThreads; ++t) {
    shards.emplace_back([&writer, &work, t] {
      for (Settlement& s : work[t]) writer.Enqueue(std::move(s));
    });
  }
  for (std::thread& t : shards) t.join();
  ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(25)))
      << writer.Pending() << " still pending";
  writer.Stop();
  ExpectCommittedOnce(committed_.Counts(), 1, kThreads * kPerThread);
  EXPECT_EQ(schema_.Count("settlements"), kThreads * kPerThread);
}

TEST_F(SettlementWriterTest, EnqueuedBeforeStartIsWrittenAfterStart) {
  SettlementWriter writer(schema_.conninfo(), {}, committed_.Callback());
  writer.Enqueue(SimpleSettlement(Id(1), kT0));
  writer.Enqueue(SimpleSettlement(Id(2), kT0));
  EXPECT_EQ(writer.Pending(), 2u);
  writer.Start();
  ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(10)));
  ExpectCommittedOnce(committed_.Counts(), 1, 2);
}

TEST_F(SettlementWriterTest, IdleWriterWakesForEachEnqueue) {
  SettlementWriter writer(schema_.conninfo(), {}, committed_.Callback());
  writer.Start();
  for (int i = 1; i <= 5; ++i) {
    absl::SleepFor(absl::Milliseconds(30));  // let the writer park
    writer.Enqueue(SimpleSettlement(Id(i), kT0));
    ASSERT_TRUE(
        WaitFor([&] { return committed_.Calls() == static_cast<size_t>(i); }, absl::Seconds(5)))
        << "settlement " << i << " was not written: a lost wake-up";
  }
  EXPECT_EQ(writer.Pending(), 0u);
}

TEST_F(SettlementWriterTest, DroppedConnectionIsReplacedAtOnceWithoutAnError) {
  const std::string app = absl::StrCat("writer_", schema_.name());
  StderrCapture capture;
  SettlementWriter writer(absl::StrCat(schema_.conninfo(), " application_name=", app), {},
                          committed_.Callback());
  writer.Start();
  writer.Enqueue(SimpleSettlement(Id(1), kT0));
  ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(10)));
  // What a PostgreSQL restart or an idle timeout does to the writer's connection.
  EXPECT_THAT(schema_.Query(absl::StrCat("SELECT pg_terminate_backend(pid) FROM "
                                         "pg_stat_activity WHERE application_name = '",
                                         app, "'")),
              ::testing::ElementsAre("t"));
  writer.Enqueue(SimpleSettlement(Id(2), kT0));
  ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(10)));
  writer.Stop();
  EXPECT_EQ(capture.Take(), "");
  ExpectCommittedOnce(committed_.Counts(), 1, 2);
}

TEST_F(SettlementWriterTest, StopDrainsWhatIsQueued) {
  SettlementWriter writer(schema_.conninfo(), {}, committed_.Callback());
  writer.Start();
  for (int i = 1; i <= 300; ++i) writer.Enqueue(SimpleSettlement(Id(i), kT0));
  writer.Stop();
  EXPECT_EQ(writer.Pending(), 0u);
  ExpectCommittedOnce(committed_.Counts(), 1, 300);
}

TEST_F(SettlementWriterTest, RefusedSettlementIsHeldAndTheOthersAreWritten) {
  SettlementWriter::Options options;
  options.max_backoff = absl::Milliseconds(100);
  options.drain_deadline = absl::Milliseconds(300);
  StderrCapture capture;
  {
    SettlementWriter writer(schema_.conninfo(), options, committed_.Callback());
    for (int i = 1; i <= 6; ++i) {
      Settlement s = SimpleSettlement(Id(i), kT0);
      if (i == 3) s.spec.title = std::string("nul\0byte", 8);  // refused by the store
      if (i == 5) s.bids[1].sequence = s.bids[0].sequence;     // refused by PostgreSQL
      writer.Enqueue(std::move(s));
    }
    writer.Start();
    ASSERT_TRUE(WaitFor([&] { return committed_.Calls() == 4; }, absl::Seconds(10)))
        << capture.Take();
    absl::SleepFor(absl::Milliseconds(250));  // a couple of retries of the held ones
    EXPECT_EQ(writer.Pending(), 2u);
    writer.Stop();
  }
  const std::string log = capture.Take();
  const std::map<std::string, int> counts = committed_.Counts();
  EXPECT_EQ(counts.size(), 4u);
  EXPECT_FALSE(counts.contains(Id(3)));
  EXPECT_FALSE(counts.contains(Id(5)));
  EXPECT_EQ(schema_.Count("settlements"), 4);
  EXPECT_THAT(log, HasSubstr("refused settlement A3"));
  EXPECT_THAT(log, HasSubstr("refused settlement A5"));
  EXPECT_THAT(log, HasSubstr("stopped with 2 settlements unwritten"));
  // Logged once when held, not at every retry.
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(log, "refused settlement A3")).size(), 2u)
      << log;
}

TEST(SettlementWriterUnreachableTest, StopGivesUpAfterDrainDeadlineAndLogsOncePerState) {
  SettlementWriter::Options options;
  options.min_backoff = absl::Milliseconds(5);
  options.max_backoff = absl::Milliseconds(20);
  options.drain_deadline = absl::Milliseconds(300);
  CommitRecorder committed;
  StderrCapture capture;
  absl::Duration stop_took;
  {
    SettlementWriter writer("host=127.0.0.1 port=1 user=gavel dbname=gavel connect_timeout=2",
                            options, committed.Callback());
    writer.Start();
    for (int i = 1; i <= 3; ++i) writer.Enqueue(SimpleSettlement(Id(i), kT0));
    absl::SleepFor(absl::Milliseconds(300));  // many retries
    EXPECT_EQ(writer.Pending(), 3u);
    const absl::Time before = absl::Now();
    writer.Stop();
    stop_took = absl::Now() - before;
    EXPECT_EQ(writer.Pending(), 3u);
  }
  const std::string log = capture.Take();
  EXPECT_GE(stop_took, absl::Milliseconds(250));
  EXPECT_LT(stop_took, absl::Seconds(3));
  EXPECT_EQ(committed.Calls(), 0u);
  const std::vector<std::string> lines = absl::StrSplit(log, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << log;
  EXPECT_THAT(lines[0], HasSubstr("store: PostgreSQL unavailable (connecting to PostgreSQL: "));
  EXPECT_THAT(lines[0], HasSubstr("settlement(s) waiting, retrying in "));
  EXPECT_EQ(lines[1], "store: stopped with 3 settlements unwritten after the 300ms drain deadline");
}

TEST(SettlementWriterRestartTest, SettlementsWaitWhilePostgresIsDownAndArriveExactlyOnce) {
  PrivateCluster cluster;
  std::string conninfo = cluster.Start();
  ASSERT_FALSE(conninfo.empty());
  const int port = cluster.port();
  SettlementWriter::Options options;
  options.min_backoff = absl::Milliseconds(20);
  options.max_backoff = absl::Milliseconds(200);
  CommitRecorder committed;
  StderrCapture capture;
  std::string log;
  {
    SettlementWriter writer(conninfo + " connect_timeout=2", options, committed.Callback());
    writer.Start();
    for (int i = 1; i <= 5; ++i) writer.Enqueue(SimpleSettlement(Id(i), kT0));
    ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(10)));

    cluster.Stop();
    for (int i = 6; i <= 15; ++i) writer.Enqueue(SimpleSettlement(Id(i), kT0));
    absl::SleepFor(absl::Milliseconds(500));
    EXPECT_EQ(writer.Pending(), 10u);
    EXPECT_EQ(committed.Calls(), 5u);

    // Same directory, same pinned port: the data is still there and the conninfo unchanged.
    EXPECT_EQ(cluster.Start(port), conninfo);
    ASSERT_TRUE(WaitFor([&] { return writer.Pending() == 0; }, absl::Seconds(15)))
        << writer.Pending() << " still pending";
    writer.Stop();
    log = capture.Take();
  }
  ExpectCommittedOnce(committed.Counts(), 1, 15);
  ExpectStoredOnce(conninfo, 1, 15);
  EXPECT_THAT(log, HasSubstr("store: PostgreSQL unavailable ("));
  EXPECT_THAT(log, HasSubstr("store: PostgreSQL writes resumed"));
}

}  // namespace
}  // namespace gavel
