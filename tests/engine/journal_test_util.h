// Helpers shared by the journal and recovery tests: principals that can be
// resolved by name (with ids permuted, as after a tokens-file change), and
// an engine wired to a journal in a MemEnv.
#ifndef GAVEL_TESTS_ENGINE_JOURNAL_TEST_UTIL_H_
#define GAVEL_TESTS_ENGINE_JOURNAL_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/env_memory.h"
#include "engine/journal.h"
#include "engine/recovery.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace gavel::testing {

// The names of FakePrincipalNames; `offset` shifts every id (modulo the
// table), as a different tokens file would. Unknown names are interned.
class NamedPrincipals final : public PrincipalNames, public PrincipalResolver {
 public:
  explicit NamedPrincipals(PrincipalId offset = 0) {
    FakePrincipalNames fake;
    names_.resize(64);
    for (PrincipalId id = 0; id < 64; ++id) names_[(id + offset) % 64] = std::string(fake.Name(id));
    for (PrincipalId id = 0; id < 64; ++id) ids_[names_[id]] = id;
  }
  // The id this table gives the principal FakePrincipalNames calls `fake_id`.
  PrincipalId Translate(PrincipalId fake_id) const {
    return ids_.at(std::string(FakePrincipalNames().Name(fake_id)));
  }
  absl::string_view Name(PrincipalId id) const override {
    return id < names_.size() ? absl::string_view(names_[id]) : absl::string_view("unknown");
  }
  PrincipalId Resolve(absl::string_view name) override {
    auto it = ids_.find(std::string(name));
    if (it != ids_.end()) return it->second;
    names_.emplace_back(name);
    const PrincipalId id = static_cast<PrincipalId>(names_.size() - 1);
    ids_[std::string(name)] = id;
    return id;
  }

 private:
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, PrincipalId> ids_;
};

inline constexpr char kShardDir[] = "/data/shard-0";

// An engine journaling into `env` under kShardDir, the way a shard does,
// minus the thread: Step() writes and syncs what the last calls appended.
class JournaledEngine {
 public:
  // Files roll at 1 MiB by default: MemEnv reserves that much for each
  // (WritableFile::Reserve), and no test writes that much unless it asks.
  JournaledEngine(MemEnv* env, PrincipalNames* names, uint64_t max_file_bytes = 1u << 20)
      : env_(env), engine_(EngineOptions{}, names, &listener_) {
    EXPECT_TRUE(env_->CreateDir(kShardDir).ok());
    options_.env = env_;
    options_.dir = kShardDir;
    options_.max_file_bytes = max_file_bytes;
    options_.max_file_age = absl::InfiniteDuration();
  }

  // Recovers from the directory (empty: a fresh start), then journals.
  absl::StatusOr<RecoveryReport> Start(PrincipalResolver* resolver) {
    RecoveryOptions ro;
    ro.env = env_;
    ro.dir = kShardDir;
    ro.log = [this](const std::string& line) { log_.push_back(line); };
    absl::StatusOr<RecoveryReport> report = Recover(ro, &engine_, resolver);
    if (!report.ok()) return report;
    absl::StatusOr<std::unique_ptr<Journal>> journal =
        Journal::Open(options_, report->next_file_number, absl::UnixEpoch());
    if (!journal.ok()) return journal.status();
    journal_ = *std::move(journal);
    engine_.SetCommandLog(journal_.get());
    return report;
  }

  // Group commit of what the calls since the last Step appended; rolls.
  absl::Status Step(absl::Time now) {
    if (absl::Status st = journal_->Write(); !st.ok()) return st;
    if (absl::Status st = journal_->Sync(); !st.ok()) return st;
    if (journal_->ShouldRoll(now)) return journal_->Roll(engine_.CountersRecord(), now);
    return absl::OkStatus();
  }

  // Rolls the journal and compacts every complete file into a snapshot.
  absl::Status Snapshot(absl::Time now, CompactionStats* stats) {
    if (absl::Status st = Step(now); !st.ok()) return st;
    if (absl::Status st = journal_->Roll(engine_.CountersRecord(), now); !st.ok()) return st;
    return CompactJournal(env_, kShardDir, 0, 1, journal_->file_number(),
                          options_.ended_key_retention, stats);
  }

  // How long snapshots keep the request ids of the auctions they drop.
  void set_ended_key_retention(absl::Duration d) { options_.ended_key_retention = d; }

  std::string CurrentFile() const { return journal_->file_path(); }
  Engine& engine() { return engine_; }
  Journal& journal() { return *journal_; }
  RecordingListener& listener() { return listener_; }
  const std::vector<std::string>& log() const { return log_; }

 private:
  MemEnv* env_;
  JournalOptions options_;
  RecordingListener listener_;
  Engine engine_;
  std::unique_ptr<Journal> journal_;
  std::vector<std::string> log_;
};

// Recovers into `engine` what a crash of `env` right now would leave on
// disk under kShardDir. False when the recovery fails.
inline bool RecoverCrashCopy(const MemEnv& env, Engine* engine, NamedPrincipals* names) {
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  RecoveryOptions ro;
  ro.env = crashed.get();
  ro.dir = kShardDir;
  ro.log = [](const std::string&) {};
  return Recover(ro, engine, names).ok();
}

// Whether a crash right now would keep kAlice's bid `key` on `auction`: an
// idempotent repeat of it answers from the recovered bid log.
inline bool DurablyHasBid(const MemEnv& env, AuctionId auction, const std::string& key) {
  NamedPrincipals names;
  RecordingListener listener;
  Engine engine(EngineOptions{}, &names, &listener);
  if (!RecoverCrashCopy(env, &engine, &names)) return false;
  PlaceBidCommand probe;
  probe.auction_id = auction;
  probe.bidder = kAlice;
  probe.client_bid_id = key;
  probe.amount_minor = 1;
  absl::StatusOr<BidResult> r = engine.PlaceBid(probe, kT0);
  return r.ok() && r->replayed;
}

}  // namespace gavel::testing

#endif  // GAVEL_TESTS_ENGINE_JOURNAL_TEST_UTIL_H_
