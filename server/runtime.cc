#include "server/runtime.h"

#include "absl/strings/str_cat.h"

namespace gavel {

grpc::Status JournalFailedStatus() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the server could not make this request durable (its journal failed) and "
                      "is stopping; the outcome is unknown: retry with the same idempotency key "
                      "(client_bid_id or request_id) once the server is back");
}

std::string ShardDir(const std::string& data_dir, uint32_t index) {
  return absl::StrCat(data_dir, "/shard-", index);
}

Runtime::Runtime(RuntimeOptions options, const Clock* clock, const PrincipalNames* names,
                 SettlementSink* sink)
    : sink_(sink), data_dir_(options.data_dir) {
  const uint32_t n = options.shards == 0 ? 1 : options.shards;
  for (uint32_t i = 0; i < n; ++i) {
    ShardOptions so;
    so.shard_index = i;
    so.shard_count = n;
    so.ring_capacity = options.ring_capacity;
    so.spin_before_park = options.spin_before_park;
    if (i < options.shard_cpus.size()) so.cpu = options.shard_cpus[i];
    so.auction_id_floor = options.auction_id_floor;
    if (!data_dir_.empty()) {
      so.journal = options.journal;
      so.journal.dir = ShardDir(data_dir_, i);
    }
    so.log = options.log;
    so.feed_hub = &feed_hub_;
    if (options.on_journal_failure) {
      so.on_journal_failure = [i, f = options.on_journal_failure](const absl::Status& st) {
        f(i, st);
      };
    }
    shards_.push_back(
        std::make_unique<Shard>(std::move(so), clock, names, static_cast<EngineListener*>(this)));
  }
}

Runtime::~Runtime() { Stop(); }

absl::StatusOr<std::vector<ShardRecovery>> Runtime::Recover(PrincipalResolver* principals) {
  std::vector<ShardRecovery> out;
  if (data_dir_.empty()) return out;
  for (auto& s : shards_) {
    absl::StatusOr<ShardRecovery> r = s->Recover(principals);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("shard ", s->index(), ": ", r.status().message()));
    }
    out.push_back(*std::move(r));
  }
  return out;
}

void Runtime::Start() {
  feed_hub_.Start();
  for (auto& s : shards_) s->Start();
}

void Runtime::Stop() {
  stopping_.store(true, std::memory_order_release);
  for (auto& s : shards_) s->Stop();
  feed_hub_.Stop();  // after the shards: nothing pushes to it any more
}

void Runtime::OnSettlement(std::shared_ptr<const Settlement> settlement) {
  if (sink_ != nullptr) sink_->Submit(std::move(settlement));
}

uint64_t StableHash(absl::string_view a, absl::string_view b) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(a);
  mix(b);
  return h;
}

}  // namespace gavel
