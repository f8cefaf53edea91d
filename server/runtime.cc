#include "server/runtime.h"

namespace gavel {

Runtime::Runtime(RuntimeOptions options, const Clock* clock, const PrincipalNames* names,
                 SettlementSink* sink)
    : sink_(sink) {
  const uint32_t n = options.shards == 0 ? 1 : options.shards;
  for (uint32_t i = 0; i < n; ++i) {
    shards_.push_back(
        std::make_unique<Shard>(ShardOptions{i, n, options.ring_capacity, options.auction_id_floor},
                                clock, names,
                                static_cast<EngineListener*>(this)));
  }
}

Runtime::~Runtime() { Stop(); }

void Runtime::Start() {
  for (auto& s : shards_) s->Start();
}

void Runtime::Stop() {
  stopping_.store(true, std::memory_order_release);
  for (auto& s : shards_) s->Stop();
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
