// GavelServer: the whole server in one object (runtime, services, the
// settlement writer), so that main() and in-process tests start it the
// same way.
#ifndef GAVEL_SERVER_SERVER_H_
#define GAVEL_SERVER_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/clock.h"
#include "engine/journal.h"
#include "engine/shard.h"
#include "server/auth.h"

namespace gavel {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // port 0: pick a free one
  std::string postgres;                    // libpq conninfo; empty: no database
  // Where each shard journals (DATA_DIR/shard-N) and snapshots; recovered at
  // start. Empty: no journal, nothing survives a restart (tests only).
  std::string data_dir;
  uint32_t shards = 1;
  size_t ring_capacity = 1 << 16;
  // How long an idle shard polls its ring before it parks (see
  // ShardOptions::spin_before_park); 0: park at once.
  absl::Duration shard_spin = ShardOptions().spin_before_park;
  // Empty: shards run wherever the scheduler puts them; else shard i is
  // pinned to CPU shard_cpus[i] (ShardOptions::cpu): one per shard, each one
  // the process may run on, none twice (else Start fails).
  std::vector<int> shard_cpus;
  const Clock* clock = nullptr;  // null: the system clock
  // The journal: durability mode, file size and age limits (engine/journal.h;
  // the directory and shard fields are set per shard).
  JournalOptions journal;
  // Health: the service "gavel.outbox" is NOT_SERVING while more settlements
  // than this wait for PostgreSQL; the depth is logged every
  // outbox_log_interval while it is not zero.
  size_t outbox_alarm = 10000;
  // The most WatchAuction and BidStream streams open at once, in all and
  // for one principal (0: no cap); beyond, a new one is refused with
  // RESOURCE_EXHAUSTED (server/stream_limit.h).
  size_t max_watch_streams = 20000;
  size_t max_watch_streams_per_principal = 2000;
  size_t max_bid_streams = 5000;
  size_t max_bid_streams_per_principal = 100;
  absl::Duration outbox_log_interval = absl::Seconds(5);
  // Log lines (recovery, snapshots, state hashes, outbox); null: stderr with
  // a timestamp.
  std::function<void(const std::string&)> log;
  // A shard's journal failed (a write or an fdatasync): that shard has
  // stopped acknowledging. Called on the shard's thread (its sync thread
  // with durability=sync: any thread, must not block); main() asks for a
  // shutdown and exits non-zero. Null: only logged.
  std::function<void(uint32_t shard, const absl::Status&)> on_journal_failure;
};

class Runtime;

class GavelServer {
 public:
  // Starts serving. Fails with a clear status when the address cannot be
  // bound or the database cannot be prepared.
  static absl::StatusOr<std::unique_ptr<GavelServer>> Start(ServerOptions options,
                                                            TokenTable tokens);
  ~GavelServer();

  int port() const;
  // Graceful: stops taking calls, lets the shards finish what they hold, ends
  // watch streams, then flushes settlements to PostgreSQL. Idempotent.
  void Shutdown();
  // Blocks until Shutdown() has completed.
  void Wait();
  // Settlements not yet committed to PostgreSQL (the outbox depth).
  size_t PendingSettlements() const;
  // The shards, for tests that must hold one still.
  Runtime& runtime_for_test();

  struct Impl;

 private:
  explicit GavelServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes `line` to stderr as "2026-11-24T10:00:00Z gavel-server: LINE": the
// log of ServerOptions::log's default, and of gavel-server's own messages.
void ServerLog(const std::string& line);

}  // namespace gavel

#endif  // GAVEL_SERVER_SERVER_H_
