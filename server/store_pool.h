// A few PostgreSQL connections for the auditor's read queries. Audit calls
// block on the database and never touch the engine, so a plain mutex here
// is outside the bid path by construction.
#ifndef GAVEL_SERVER_STORE_POOL_H_
#define GAVEL_SERVER_STORE_POOL_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "server/store/store.h"

namespace gavel {

class StorePool {
 public:
  explicit StorePool(std::string conninfo, size_t max_idle = 4)
      : conninfo_(std::move(conninfo)), max_idle_(max_idle) {}

  // Runs `f` with a connected Store, connecting when none is idle. A
  // connection whose call failed with Unavailable is not reused.
  absl::Status With(absl::FunctionRef<absl::Status(Store&)> f);

 private:
  const std::string conninfo_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Store>> idle_;  // guarded by mu_
};

}  // namespace gavel

#endif  // GAVEL_SERVER_STORE_POOL_H_
