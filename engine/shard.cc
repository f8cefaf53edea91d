#include "engine/shard.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace gavel {
namespace {

// Sleeps while *word == expected, at most `timeout` (negative: no limit).
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Duration timeout) {
  timespec ts = absl::ToTimespec(timeout);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
          timeout < absl::ZeroDuration() ? nullptr : &ts, nullptr, 0);
}

void FutexWakeOne(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

// A parked shard wakes at least this often even without tasks or timers, so
// that a clock that jumps (tests, NTP) is noticed.
constexpr absl::Duration kMaxPark = absl::Milliseconds(200);
constexpr int kBatch = 256;

}  // namespace

Shard::Shard(ShardOptions options, const Clock* clock, const PrincipalNames* names,
             EngineListener* downstream)
    : options_(options),
      clock_(clock),
      downstream_(downstream),
      engine_({options.shard_index, options.shard_count, options.auction_id_floor}, names, this),
      ring_(options.ring_capacity) {}

Shard::~Shard() { Stop(); }

void Shard::Start() { thread_ = std::thread([this] { Loop(); }); }

void Shard::Stop() {
  accepting_.store(false, std::memory_order_seq_cst);
  stop_.store(true, std::memory_order_seq_cst);
  Wake();
  if (thread_.joinable()) thread_.join();
}

bool Shard::Submit(ShardTask* task) {
  // In flight from before the accepting_ check until after the push and wake:
  // Stop's drain waits for us (see "submitting_" in shard.h).
  submitting_.fetch_add(1, std::memory_order_seq_cst);
  const bool pushed = accepting_.load(std::memory_order_seq_cst) && ring_.TryPush(task);
  if (pushed) Wake();
  submitting_.fetch_sub(1, std::memory_order_seq_cst);
  return pushed;
}

void Shard::Wake() {
  // The load is seq_cst, like the ring's publishing store before it (see
  // shard.h); the exchange makes one waker pay for the syscall.
  if (parked_.load(std::memory_order_seq_cst) == 1 &&
      parked_.exchange(0, std::memory_order_seq_cst) == 1) {
    FutexWakeOne(&parked_);
  }
}

void Shard::Park(absl::Time deadline) {
  parked_.store(1, std::memory_order_seq_cst);
  if (!ring_.Empty() || stop_.load(std::memory_order_seq_cst)) {
    parked_.store(0, std::memory_order_relaxed);
    return;
  }
  const absl::Duration wait = std::clamp(deadline - clock_->Now(), absl::ZeroDuration(), kMaxPark);
  if (wait > absl::ZeroDuration()) FutexWait(&parked_, 1, wait);
  parked_.store(0, std::memory_order_relaxed);
}

void Shard::Loop() {
  for (;;) {
    int ran = 0;
    ShardTask* task = nullptr;
    while (ran < kBatch && ring_.TryPop(&task)) {
      const absl::Time now = clock_->Now();
      engine_.AdvanceTo(now);
      ShardContext ctx{engine_, *this, now};
      task->Run(ctx);
      ++ran;
    }
    if (ran > 0) continue;
    engine_.AdvanceTo(clock_->Now());
    if (stop_.load(std::memory_order_acquire)) {
      // A Submit still in flight may yet push: wait for it before the last look.
      if (submitting_.load(std::memory_order_seq_cst) == 0 && ring_.Empty()) break;
      continue;
    }
    Park(engine_.NextTimer());
  }
}

absl::Status Shard::Subscribe(AuctionId id, Sequence from_sequence,
                              std::shared_ptr<EventSubscriber> subscriber) {
  const Auction* a = engine_.Find(id);
  if (a == nullptr) {
    return absl::NotFoundError(absl::StrCat("auction ", FormatAuctionId(id), " does not exist"));
  }
  bool terminal = false;
  if (from_sequence > 0) {
    const auto& history = a->history();
    auto it = std::lower_bound(
        history.begin(), history.end(), from_sequence,
        [](const AuctionEvent& e, Sequence s) { return e.sequence < s; });
    for (; it != history.end(); ++it) {
      if (!subscriber->Offer(*it)) {
        subscriber->Dropped(it->sequence);
        return absl::OkStatus();
      }
      terminal = it->kind == AuctionEvent::Kind::kClosed;
    }
  }
  const AuctionState s = a->state();
  const bool open = s == AuctionState::kOpen || s == AuctionState::kScheduled;
  if (!open && !terminal) {
    // Already over and the caller did not ask for history: send the close.
    const auto& history = a->history();
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
      if (it->kind == AuctionEvent::Kind::kClosed) {
        if (!subscriber->Offer(*it)) subscriber->Dropped(it->sequence);
        break;
      }
    }
    return absl::OkStatus();
  }
  if (open) subscribers_[id].push_back(std::move(subscriber));
  return absl::OkStatus();
}

void Shard::OnEvent(const AuctionEvent& event) {
  auto it = subscribers_.find(event.auction_id);
  if (it != subscribers_.end()) {
    auto& subs = it->second;
    for (size_t i = 0; i < subs.size();) {
      if (subs[i]->Offer(event)) {
        ++i;
        continue;
      }
      subs[i]->Dropped(event.sequence);
      subs[i] = std::move(subs.back());
      subs.pop_back();
    }
    if (event.kind == AuctionEvent::Kind::kClosed || subs.empty()) subscribers_.erase(it);
  }
  if (downstream_ != nullptr) downstream_->OnEvent(event);
}

void Shard::OnSettlement(std::shared_ptr<const Settlement> settlement) {
  if (downstream_ != nullptr) downstream_->OnSettlement(std::move(settlement));
}

size_t Shard::watcher_count_for_test() const {
  size_t n = 0;
  for (const auto& [id, subs] : subscribers_) n += subs.size();
  return n;
}

}  // namespace gavel
