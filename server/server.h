// GavelServer: the whole server in one object (runtime, services, the
// settlement writer), so that main() and in-process tests start it the
// same way.
#ifndef GAVEL_SERVER_SERVER_H_
#define GAVEL_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/clock.h"
#include "server/auth.h"

namespace gavel {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // port 0: pick a free one
  std::string postgres;                    // libpq conninfo; empty: no database
  std::string data_dir;
  uint32_t shards = 1;
  size_t ring_capacity = 1 << 16;
  const Clock* clock = nullptr;  // null: the system clock
};

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
  // Settlements not yet committed to PostgreSQL.
  size_t PendingSettlements() const;

  struct Impl;

 private:
  explicit GavelServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gavel

#endif  // GAVEL_SERVER_SERVER_H_
