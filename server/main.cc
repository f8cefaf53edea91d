// gavel-server: the Gavel auction server. All flags are defined here and
// passed down as ServerOptions (STYLE.md 10). `--flagfile=FILE` reads flags
// from a file.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/heap.h"
#include "engine/journal.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "address to serve gRPC on (HOST:PORT)");
ABSL_FLAG(std::string, postgres, "",
          "libpq connection string of the PostgreSQL that keeps settlements, e.g. "
          "\"host=127.0.0.1 port=5432 user=gavel dbname=gavel\" (required)");
ABSL_FLAG(std::string, tokens, "", "file of lines `TOKEN PRINCIPAL ROLE` (required)");
ABSL_FLAG(std::string, data_dir, "var/data",
          "directory of the write-ahead journal and snapshots (DATA_DIR/shard-N); the server "
          "recovers from it at start");
ABSL_FLAG(std::string, durability, "sync",
          "when a command is acknowledged: sync (after the fdatasync of its batch; the "
          "default), batch (after its write; fdatasync at least every "
          "--durability_batch_interval), none (after its write; fdatasync only at file rolls "
          "and shutdown: benchmarks only)");
ABSL_FLAG(absl::Duration, durability_batch_interval, absl::Milliseconds(5),
          "with --durability=batch: the longest a written command waits for its fdatasync");
ABSL_FLAG(uint64_t, journal_file_mb, 64, "a journal file rolls (and is snapshotted) at this size");
ABSL_FLAG(absl::Duration, snapshot_interval, absl::Minutes(10),
          "a journal file holding commands also rolls (and is snapshotted) after this long");
ABSL_FLAG(absl::Duration, ended_key_retention, gavel::JournalOptions().ended_key_retention,
          "snapshots keep the request_id of a settled auction they drop this long after it "
          "settled, so that a CreateAuction resent with it, even after a restart, is told the "
          "auction it created instead of creating another");
ABSL_FLAG(uint64_t, outbox_alarm, 10000,
          "gRPC health service \"gavel.outbox\" turns NOT_SERVING while more settlements than "
          "this wait for PostgreSQL");
ABSL_FLAG(uint64_t, max_watch_streams, gavel::ServerOptions().max_watch_streams,
          "the most WatchAuction streams open at once (0: no cap); a new one beyond is refused "
          "with RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, max_watch_streams_per_principal,
          gavel::ServerOptions().max_watch_streams_per_principal,
          "the most WatchAuction streams one principal may have open at once (0: no cap)");
ABSL_FLAG(uint64_t, max_bid_streams, gavel::ServerOptions().max_bid_streams,
          "the most BidStream streams open at once (0: no cap); a new one beyond is refused "
          "with RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, max_bid_streams_per_principal,
          gavel::ServerOptions().max_bid_streams_per_principal,
          "the most BidStream streams one principal may have open at once (0: no cap)");
ABSL_FLAG(std::vector<std::string>, shard_cpus, {},
          "pin shard i to the i-th CPU of this comma-separated list (one per shard), e.g. cores "
          "kept free of other work and of the timer tick (isolcpus, nohz_full); empty: not pinned");
ABSL_FLAG(uint32_t, shards, 0,
          "number of engine shards, each a thread owning its auctions (0: one per hardware "
          "thread)");

ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "leave absl::Mutex deadlock detection as the Abseil library has it (Debian's, built "
          "without NDEBUG, checks every acquisition of gRPC's internal locks for lock-order "
          "cycles, which costs several percent of the server's CPU under load). false, the "
          "default: turn it off, as Abseil's release builds have it; Gavel's own bid path "
          "takes no lock");

ABSL_FLAG(uint64_t, malloc_retain_mb, gavel::kDefaultMallocRetainBytes >> 20,
          "keep up to this much freed memory in the heap for reuse, and serve blocks below 32 "
          "MiB from it, instead of handing them back to the kernel and faulting them in again "
          "as auctions grow (0: glibc's defaults)");

ABSL_FLAG(bool, huge_pages, true,
          "back a big auction's bid log, key index and order book arrays (from 2 MiB each) with "
          "transparent huge pages, so that bids reaching into them at random miss the TLB far "
          "less; each huge page costs a pause the first time it is touched");

ABSL_FLAG(absl::Duration, shard_spin, gavel::ServerOptions().shard_spin,
          "how long an idle shard polls for work before it sleeps: waking a sleeping thread "
          "costs tens of microseconds, polling costs CPU (0s: sleep at once)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gavel-server --postgres=CONNINFO --tokens=FILE [--listen=127.0.0.1:50051] [--shards=N] "
      "[--data_dir=var/data] [--durability=sync|batch|none]");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (absl::Status heap = gavel::ConfigureHeap(absl::GetFlag(FLAGS_malloc_retain_mb),
                                               absl::GetFlag(FLAGS_huge_pages));
      !heap.ok()) {
    std::fprintf(stderr, "gavel-server: --malloc_retain_mb: %s\n", heap.ToString().c_str());
    return 2;
  }
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }

  gavel::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.postgres = absl::GetFlag(FLAGS_postgres);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.shards = absl::GetFlag(FLAGS_shards);
  options.shard_spin = absl::GetFlag(FLAGS_shard_spin);
  if (options.shard_spin < absl::ZeroDuration() || options.shard_spin > absl::Milliseconds(10)) {
    gavel::ServerLog("error: --shard_spin must be between 0s and 10ms");
    return 2;
  }
  if (!gavel::ParseDurability(absl::GetFlag(FLAGS_durability), &options.journal.durability)) {
    gavel::ServerLog("error: --durability must be sync, batch or none");
    return 2;
  }
  options.journal.batch_interval = absl::GetFlag(FLAGS_durability_batch_interval);
  if (options.journal.durability == gavel::Durability::kBatch &&
      (options.journal.batch_interval <= absl::ZeroDuration() ||
       options.journal.batch_interval > absl::Seconds(10))) {
    gavel::ServerLog("error: --durability_batch_interval must be more than 0s and at most 10s");
    return 2;
  }
  if (absl::GetFlag(FLAGS_journal_file_mb) < 1) {
    gavel::ServerLog("error: --journal_file_mb must be at least 1");
    return 2;
  }
  options.journal.max_file_bytes = absl::GetFlag(FLAGS_journal_file_mb) << 20;
  options.journal.max_file_age = absl::GetFlag(FLAGS_snapshot_interval);
  if (options.journal.max_file_age < absl::Seconds(1)) {
    gavel::ServerLog(
        "error: --snapshot_interval must be at least 1s (inf: snapshots only at --journal_file_mb "
        "and shutdown)");
    return 2;
  }
  options.journal.ended_key_retention = absl::GetFlag(FLAGS_ended_key_retention);
  if (options.journal.ended_key_retention < absl::ZeroDuration()) {
    gavel::ServerLog("error: --ended_key_retention must not be negative");
    return 2;
  }
  options.outbox_alarm = absl::GetFlag(FLAGS_outbox_alarm);
  options.max_watch_streams = absl::GetFlag(FLAGS_max_watch_streams);
  options.max_bid_streams = absl::GetFlag(FLAGS_max_bid_streams);
  options.max_watch_streams_per_principal = absl::GetFlag(FLAGS_max_watch_streams_per_principal);
  options.max_bid_streams_per_principal = absl::GetFlag(FLAGS_max_bid_streams_per_principal);
  if (options.data_dir.empty()) {
    gavel::ServerLog("error: --data_dir is required: the journal keeps every acknowledged command");
    return 2;
  }
  // A failed journal write or fdatasync: that shard acknowledges nothing
  // more; stop the whole server (gracefully, through the signal thread) and
  // exit non-zero. The failed fsync is never retried.
  static std::atomic<bool> journal_failed{false};
  options.on_journal_failure = [](uint32_t shard, const absl::Status& status) {
    gavel::ServerLog(
        absl::StrCat("FATAL: shard ", shard, ": journal failure: ", status.message(),
                     "; shutting down (a failed journal write or fsync is never retried; restart "
                     "to recover from the journal)"));
    if (!journal_failed.exchange(true)) kill(getpid(), SIGTERM);
  };
  const std::string tokens_path = absl::GetFlag(FLAGS_tokens);
  if (tokens_path.empty()) {
    gavel::ServerLog("error: --tokens=FILE is required (lines `TOKEN PRINCIPAL ROLE`)");
    return 2;
  }
  if (options.postgres.empty()) {
    gavel::ServerLog("error: --postgres=CONNINFO is required: settlements are kept in PostgreSQL");
    return 2;
  }
  if (options.shards == 0) options.shards = std::max(1u, std::thread::hardware_concurrency());
  if (options.shards > 256) {
    gavel::ServerLog("error: --shards must be between 1 and 256");
    return 2;
  }
  for (const std::string& cpu : absl::GetFlag(FLAGS_shard_cpus)) {
    int n = 0;
    if (!absl::SimpleAtoi(cpu, &n)) {
      gavel::ServerLog(absl::StrCat("error: --shard_cpus: '", cpu, "' is not a CPU number"));
      return 2;
    }
    options.shard_cpus.push_back(n);
  }
  absl::StatusOr<gavel::TokenTable> tokens = gavel::TokenTable::Load(tokens_path);
  if (!tokens.ok()) {
    gavel::ServerLog(absl::StrCat("error: ", tokens.status().message()));
    return 2;
  }
  const size_t token_count = tokens->size();
  absl::StatusOr<std::unique_ptr<gavel::GavelServer>> server =
      gavel::GavelServer::Start(options, *std::move(tokens));
  if (!server.ok()) {
    gavel::ServerLog(absl::StrCat("error: ", server.status().message()));
    return 1;
  }
  gavel::ServerLog(absl::StrCat(
      "listening on 127.0.0.1:", (*server)->port(), " (", options.listen, "), ", options.shards,
      " shard(s), ", token_count, " token(s), durability=",
      gavel::DurabilityName(options.journal.durability), ", data dir ", options.data_dir));

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    // The journal failure handler raises SIGTERM itself: say which it was.
    gavel::ServerLog(
        journal_failed.load()
            ? std::string("shutting down after the journal failure")
            : absl::StrCat("received ", sig == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down"));
    (*server)->Shutdown();
  });
  (*server)->Wait();
  signals.join();
  if (journal_failed.load()) {
    gavel::ServerLog("stopped after a journal failure: exiting with status 1");
    return 1;
  }
  const size_t pending = (*server)->PendingSettlements();
  if (pending > 0) {
    // They are in the journal's outbox and are written at the next start.
    gavel::ServerLog(
        absl::StrCat("stopped cleanly; ", pending,
                     " settlement(s) not yet in PostgreSQL stay in the journal and are written "
                     "at the next start"));
    return 0;
  }
  gavel::ServerLog("stopped cleanly");
  return 0;
}
