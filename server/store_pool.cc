#include "server/store_pool.h"

namespace gavel {

absl::Status StorePool::With(absl::FunctionRef<absl::Status(Store&)> f) {
  std::unique_ptr<Store> store;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      store = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (store == nullptr) {
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(conninfo_);
    if (!opened.ok()) return opened.status();
    store = std::move(*opened);
  }
  absl::Status status = f(*store);
  if (status.code() != absl::StatusCode::kUnavailable) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(store));
  }
  return status;
}

}  // namespace gavel
