// Thread safety / invariants
//
// Writers (producers): any number of engine shard threads call Enqueue(). Each allocates a
// Node, counts it in pending_, and pushes it with Vyukov's intrusive MPSC algorithm:
//   node->next = null (relaxed); prev = head_.exchange(node, acq_rel); prev->next = node (release)
// The exchange is the only point where producers meet: it orders them without a lock, and no
// producer ever waits for another. Then the producer bumps wake_ (release) and notify_one()s it.
// The release store of prev->next publishes the node's settlement to the consumer.
//
// Reader (consumer): exactly one thread, the writer thread (and the destructor, after it was
// joined), calls Pop(). It follows tail_->next with acquire loads, so it sees each settlement
// fully built. Between a producer's exchange and its link store, the list is briefly cut:
// Pop() then returns null although pending_ > 0. That is harmless: the producer has not
// bumped wake_ yet, so the consumer, which reads wake_ *before* it polls the queue, will find
// wake_ changed and poll again instead of sleeping (std::atomic::wait returns at once when the
// value differs from the one read). This is also why no Enqueue() can be missed by a sleeping
// writer: every push is followed by a bump of wake_ that the sleeper's wait() observes.
//
// pending_: +1 in Enqueue before the push, -1 after the settlement is committed and
// on_committed has run; so Pending() never under-counts, and Pending() == 0 means every
// callback has run. stop_requested_ (release, with drain_deadline_ written before it) tells the
// writer thread to drain and exit; Stop() joins it. Everything else (Store, the batch in hand,
// held settlements, backoff and log state) belongs to the writer thread alone (class Loop).
#include "server/store/settlement_writer.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/store/store.h"

namespace gavel {
namespace {

// How often a sleeping writer with a timer looks at the clock, Stop() and (when held
// settlements wait) new arrivals. Only used in error states; the idle writer sleeps on a futex.
constexpr absl::Duration kPollSlice = absl::Milliseconds(5);

// To options.log, else one line, one write, so that lines from several
// threads do not interleave.
void Log(const SettlementWriter::Options& options, const std::string& line) {
  if (options.log) return options.log(line);
  std::string out = absl::StrCat(line, "\n");
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

SettlementWriterOptions Normalized(SettlementWriterOptions o) {
  o.max_batch = std::max<size_t>(o.max_batch, 1);
  o.min_backoff = std::max(o.min_backoff, absl::Milliseconds(1));
  o.max_backoff = std::max(o.max_backoff, o.min_backoff);
  return o;
}

}  // namespace

// The writer thread: connection, the batch in hand, retries. Touched by that thread only.
class SettlementWriter::Loop {
 public:
  explicit Loop(SettlementWriter& writer) : w_(writer), backoff_(writer.options_.min_backoff) {}

  void Run();

 private:
  void TakeQueued();
  // Writes in one transaction, connecting first if need be.
  absl::Status Write(const std::vector<const Settlement*>& batch);
  // Each returns false after a failure that needs a backoff (the retry time is then set).
  bool WriteBatch();
  bool WriteHeld();
  void Committed(const Settlement& s);
  void Failed(const absl::Status& status);
  void Succeeded();
  // Sleeps until `until`, or until Stop() is first requested, or (if `seen` is set) until an
  // Enqueue() happens.
  void SleepUntil(absl::Time until, bool stopping, const uint32_t* seen);

  SettlementWriter& w_;
  std::unique_ptr<Store> store_;
  std::vector<Settlement> batch_;  // taken from the queue, not yet committed
  std::vector<Settlement> held_;   // refused by PostgreSQL as data; retried every max_backoff
  absl::Duration backoff_;
  absl::Time retry_at_ = absl::InfinitePast();
  absl::Time held_retry_at_ = absl::InfinitePast();
  absl::StatusCode failing_ = absl::StatusCode::kOk;  // the state last logged
};

void SettlementWriter::Loop::Run() {
  for (;;) {
    // Read before polling the queue: see the invariants above.
    uint32_t seen = w_.wake_.load(std::memory_order_acquire);
    TakeQueued();
    const bool stopping = w_.stop_requested_.load(std::memory_order_acquire);
    const absl::Time now = absl::Now();
    if (stopping &&
        (w_.pending_.load(std::memory_order_acquire) == 0 || now >= w_.drain_deadline_)) {
      return;
    }
    const absl::Time limit = stopping ? w_.drain_deadline_ : absl::InfiniteFuture();
    if (batch_.empty() && held_.empty()) {
      if (stopping) {
        std::this_thread::yield();  // a producer is between its exchange and its link
      } else {
        w_.wake_.wait(seen, std::memory_order_acquire);
      }
      continue;
    }
    if (now < retry_at_) {
      SleepUntil(std::min(retry_at_, limit), stopping, nullptr);
      continue;
    }
    if (batch_.empty() && now < held_retry_at_) {
      SleepUntil(std::min(held_retry_at_, limit), stopping, &seen);
      continue;
    }
    if (!batch_.empty() && !WriteBatch()) continue;
    if (!held_.empty() && absl::Now() >= held_retry_at_) WriteHeld();
  }
}

void SettlementWriter::Loop::TakeQueued() {
  while (batch_.size() < w_.options_.max_batch) {
    Node* node = w_.Pop();
    if (node == nullptr) return;
    batch_.push_back(std::move(node->settlement));
    delete node;
  }
}

absl::Status SettlementWriter::Loop::Write(const std::vector<const Settlement*>& batch) {
  if (store_ == nullptr) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(w_.conninfo_);
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
  }
  absl::Status status = store_->WriteSettlements(batch);
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  // The connection may have died while idle (a PostgreSQL restart, a network blip): reconnect
  // and retry at once, before any backoff. Safe even if the commit went through: writes are
  // idempotent. If PostgreSQL is really down, the status is now the connection error.
  store_.reset();
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(w_.conninfo_);
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  return store_->WriteSettlements(batch);
}

bool SettlementWriter::Loop::WriteBatch() {
  std::vector<const Settlement*> batch;
  batch.reserve(batch_.size());
  for (const Settlement& s : batch_) batch.push_back(&s);
  absl::Status status = Write(batch);
  if (status.ok()) {
    for (const Settlement& s : batch_) Committed(s);
    batch_.clear();
    Succeeded();
    return true;
  }
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Failed(status);
    return false;
  }
  // PostgreSQL refused some settlement's data: write them one by one so one bad settlement
  // does not hold back the others.
  std::vector<Settlement> rest = std::move(batch_);
  batch_.clear();
  for (size_t i = 0; i < rest.size(); ++i) {
    absl::Status one = Write({&rest[i]});
    if (one.ok()) {
      Committed(rest[i]);
      continue;
    }
    if (one.code() != absl::StatusCode::kInvalidArgument) {
      for (size_t j = i; j < rest.size(); ++j) batch_.push_back(std::move(rest[j]));
      Failed(one);
      return false;
    }
    Log(w_.options_,
        absl::StrCat("store: PostgreSQL refused settlement ", absl::CHexEscape(rest[i].auction_id),
                     " (", one.message(), "); it is held uncommitted and retried every ",
                     absl::FormatDuration(w_.options_.max_backoff)));
    held_.push_back(std::move(rest[i]));
    held_retry_at_ = absl::Now() + w_.options_.max_backoff;
  }
  Succeeded();
  return true;
}

bool SettlementWriter::Loop::WriteHeld() {
  held_retry_at_ = absl::Now() + w_.options_.max_backoff;
  for (auto it = held_.begin(); it != held_.end();) {
    absl::Status status = Write({&*it});
    if (status.ok()) {
      Committed(*it);
      it = held_.erase(it);
    } else if (status.code() == absl::StatusCode::kInvalidArgument) {
      ++it;  // still refused: logged when it was first held
    } else {
      Failed(status);
      return false;
    }
  }
  return true;
}

void SettlementWriter::Loop::Committed(const Settlement& s) {
  if (w_.on_committed_) w_.on_committed_(s.auction_id);
  w_.pending_.fetch_sub(1, std::memory_order_release);
}

void SettlementWriter::Loop::Failed(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnavailable) store_.reset();  // reconnect next time
  if (status.code() != failing_) {
    failing_ = status.code();
    Log(w_.options_,
        absl::StrCat("store: ",
                     status.code() == absl::StatusCode::kUnavailable ? "PostgreSQL unavailable"
                                                                     : "writing settlements failed",
                     " (", status.message(), "); ", w_.pending_.load(std::memory_order_acquire),
                     " settlement(s) waiting, retrying in ", absl::FormatDuration(backoff_)));
  }
  retry_at_ = absl::Now() + backoff_;
  backoff_ = std::min(backoff_ * 2, w_.options_.max_backoff);
}

void SettlementWriter::Loop::Succeeded() {
  if (failing_ != absl::StatusCode::kOk) {
    failing_ = absl::StatusCode::kOk;
    Log(w_.options_,
        absl::StrCat("store: PostgreSQL writes resumed; ",
                     w_.pending_.load(std::memory_order_acquire), " settlement(s) waiting"));
  }
  backoff_ = w_.options_.min_backoff;
  retry_at_ = absl::InfinitePast();
}

void SettlementWriter::Loop::SleepUntil(absl::Time until, bool stopping, const uint32_t* seen) {
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= until) return;
    if (!stopping && w_.stop_requested_.load(std::memory_order_acquire)) return;
    if (seen != nullptr && w_.wake_.load(std::memory_order_acquire) != *seen) return;
    absl::SleepFor(std::min(until - now, kPollSlice));
  }
}

SettlementWriter::SettlementWriter(std::string conninfo, Options options,
                                   std::function<void(const std::string&)> on_committed)
    : conninfo_(std::move(conninfo)),
      options_(Normalized(options)),
      on_committed_(std::move(on_committed)),
      head_(&stub_),
      tail_(&stub_) {}

SettlementWriter::~SettlementWriter() {
  Stop();
  while (Node* node = Pop()) delete node;
}

void SettlementWriter::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "gavel-store");
    Loop(*this).Run();
  });
}

void SettlementWriter::Push(Node* node) {
  node->next.store(nullptr, std::memory_order_relaxed);
  Node* prev = head_.exchange(node, std::memory_order_acq_rel);
  prev->next.store(node, std::memory_order_release);
}

SettlementWriter::Node* SettlementWriter::Pop() {
  Node* tail = tail_;
  Node* next = tail->next.load(std::memory_order_acquire);
  if (tail == &stub_) {
    if (next == nullptr) return nullptr;  // empty
    tail_ = next;
    tail = next;
    next = next->next.load(std::memory_order_acquire);
  }
  if (next != nullptr) {
    tail_ = next;
    return tail;
  }
  // `tail` is the last linked node. If it is not the head, a producer is mid-push.
  if (tail != head_.load(std::memory_order_acquire)) return nullptr;
  // Put the stub behind `tail` so that `tail` can be handed out without emptying the list.
  Push(&stub_);
  next = tail->next.load(std::memory_order_acquire);
  if (next != nullptr) {
    tail_ = next;
    return tail;
  }
  return nullptr;
}

void SettlementWriter::Enqueue(Settlement settlement) {
  Node* node = new Node;
  node->settlement = std::move(settlement);
  pending_.fetch_add(1, std::memory_order_relaxed);
  Push(node);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
}

void SettlementWriter::Stop() {
  if (stopped_) return;
  stopped_ = true;
  drain_deadline_ = absl::Now() + options_.drain_deadline;
  stop_requested_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  const bool started = thread_.joinable();
  if (started) thread_.join();
  const size_t left = pending_.load(std::memory_order_acquire);
  if (left > 0) {
    Log(options_, absl::StrCat("store: stopped with ", left, " settlements unwritten",
                               started ? absl::StrCat(" after the ",
                                                      absl::FormatDuration(options_.drain_deadline),
                                                      " drain deadline")
                                       : " (the writer was never started)"));
  }
}

}  // namespace gavel
