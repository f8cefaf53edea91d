#include "engine/event_feed.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "engine/futex.h"

namespace gavel {

// ------------------------------------------------------------- EventFeed

EventFeed::EventFeed(size_t capacity)
    : mask_(RingSlots(capacity) - 1),
      page_slots_(std::min<uint64_t>(kPageSlots, mask_ + 1)),
      pages_(std::make_unique<std::atomic<Slot*>[]>((mask_ + 1) / page_slots_)) {}

EventFeed::~EventFeed() {
  for (uint64_t p = 0; p < (mask_ + 1) / page_slots_; ++p) {
    delete[] pages_[p].load(std::memory_order_relaxed);
  }
}

void EventFeed::Publish(const AuctionEvent& event) {
  const uint64_t i = next_++;
  const uint64_t j = i & mask_;
  std::atomic<Slot*>& page = pages_[j / page_slots_];
  if (i <= mask_ && j % page_slots_ == 0) {
    // First lap, first slot of a page: no reader can look at it before
    // event i is published (below), which this release store precedes.
    page.store(new Slot[page_slots_], std::memory_order_release);
  }
  Slot& slot = page.load(std::memory_order_relaxed)[j % page_slots_];
  uint64_t words[kWords] = {};
  std::memcpy(words, static_cast<const AuctionEventFields*>(&event), sizeof(AuctionEventFields));
  slot.version.store(2 * i + 1, std::memory_order_relaxed);
  for (size_t w = 0; w < kWords; ++w) slot.words[w].store(words[w], std::memory_order_release);
  slot.version.store(2 * i + 2, std::memory_order_release);
  if (event.kind == AuctionEvent::Kind::kClosed) settlement_ = event.settlement;
  published_.store(i + 1, std::memory_order_seq_cst);
}

EventFeed::ReadResult EventFeed::Read(uint64_t index, AuctionEvent* out) const {
  // seq_cst, not only acquire: a reader woken by the hub after
  // ReleaseNotify must see an event whose ClaimNotify failed (the
  // notification argument in event_feed.h needs this load in the single
  // order of seq_cst operations; on x86 it is the same plain load).
  const uint64_t published = published_.load(std::memory_order_seq_cst);
  if (index >= published) return ReadResult::kNotYet;
  if (published - index > mask_ + 1) return ReadResult::kOverwritten;
  const Slot& slot = SlotOf(index);
  const uint64_t want = 2 * index + 2;
  if (slot.version.load(std::memory_order_acquire) != want) return ReadResult::kOverwritten;
  uint64_t words[kWords];
  for (size_t w = 0; w < kWords; ++w) words[w] = slot.words[w].load(std::memory_order_acquire);
  if (slot.version.load(std::memory_order_relaxed) != want) return ReadResult::kOverwritten;
  std::memcpy(static_cast<AuctionEventFields*>(out), words, sizeof(AuctionEventFields));
  // Only the closed event carries the settlement; it is the feed's last.
  out->settlement = out->kind == AuctionEvent::Kind::kClosed ? settlement_ : nullptr;
  return ReadResult::kEvent;
}

// ---------------------------------------------------------- Subscription

Subscription::Next Subscription::Poll(AuctionEvent* out) {
  if (ended_) return Next::kEnd;
  if (history_next_ < history_.size()) {
    *out = std::move(history_[history_next_++]);
    if (history_next_ == history_.size()) {
      history_.clear();
      history_.shrink_to_fit();
      history_next_ = 0;
    }
  } else if (history_cut_) {
    return Next::kBehind;
  } else if (feed_ == nullptr) {
    ended_ = true;  // the auction was over: its history ended with the close
    return Next::kEnd;
  } else {
    switch (feed_->Read(cursor_, out)) {
      case EventFeed::ReadResult::kNotYet:
        return Next::kWait;
      case EventFeed::ReadResult::kOverwritten:
        return Next::kBehind;
      case EventFeed::ReadResult::kEvent:
        ++cursor_;
        break;
    }
  }
  last_sequence_ = out->sequence;
  ended_ = out->kind == AuctionEvent::Kind::kClosed;
  return Next::kEvent;
}

// --------------------------------------------------------------- FeedHub

FeedHub::FeedHub() = default;

FeedHub::~FeedHub() { Stop(); }

void FeedHub::Start() {
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void FeedHub::Stop() {
  if (!started_) return;
  started_ = false;
  stop_.store(true, std::memory_order_seq_cst);
  parked_.store(0, std::memory_order_seq_cst);
  FutexWakeOne(&parked_);
  thread_.join();
  // Whatever was pushed after the hub's last look.
  Message* m = inbox_.exchange(nullptr, std::memory_order_acquire);
  while (m != nullptr) {
    Message* next = m->next;
    delete m;
    m = next;
  }
  by_feed_.clear();
  readers_ = 0;
  reader_count_.store(0, std::memory_order_release);
}

void FeedHub::FeedUpdated(std::shared_ptr<EventFeed> feed) {
  if (feed == nullptr) return;
  auto* m = new Message;
  m->feed = std::move(feed);
  Push(m);
}

void FeedHub::Add(std::shared_ptr<EventFeed> feed, std::shared_ptr<FeedReader> reader) {
  if (reader == nullptr) return;
  auto* m = new Message;
  m->kind = Message::Kind::kAdd;
  m->feed = std::move(feed);
  m->reader = std::move(reader);
  Push(m);
}

void FeedHub::StopReaders() {
  auto* m = new Message;
  m->kind = Message::Kind::kStopReaders;
  Push(m);
}

void FeedHub::Push(Message* m) {
  Message* head = inbox_.load(std::memory_order_relaxed);
  do {
    m->next = head;
  } while (
      !inbox_.compare_exchange_weak(head, m, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (parked_.load(std::memory_order_seq_cst) == 1 &&
      parked_.exchange(0, std::memory_order_seq_cst) == 1) {
    FutexWakeOne(&parked_);
  }
}

void FeedHub::Loop() {
  for (;;) {
    Message* batch = inbox_.exchange(nullptr, std::memory_order_seq_cst);
    if (batch == nullptr) {
      if (stop_.load(std::memory_order_acquire)) return;
      if (absl::Now() >= next_sweep_) Sweep();
      // Park: announce it, then look once more; a pusher either saw the
      // announcement (and wakes us) or pushed before this second look.
      parked_.store(1, std::memory_order_seq_cst);
      if (inbox_.load(std::memory_order_seq_cst) == nullptr &&
          !stop_.load(std::memory_order_seq_cst)) {
        FutexWait(&parked_, 1, by_feed_.empty() ? absl::InfiniteDuration() : absl::Seconds(1));
      }
      parked_.store(0, std::memory_order_relaxed);
      continue;
    }
    // The stack is newest first: handle in arrival order.
    Message* ordered = nullptr;
    while (batch != nullptr) {
      Message* next = batch->next;
      batch->next = ordered;
      ordered = batch;
      batch = next;
    }
    while (ordered != nullptr) {
      Message* next = ordered->next;
      Handle(ordered);
      delete ordered;
      ordered = next;
    }
    reader_count_.store(readers_, std::memory_order_release);
    if (absl::Now() >= next_sweep_) Sweep();
  }
}

void FeedHub::Handle(Message* m) {
  if (m->kind == Message::Kind::kStopReaders) {
    stopping_readers_ = true;
    for (auto& [feed, r] : by_feed_) {
      for (const std::shared_ptr<FeedReader>& reader : r.readers) reader->Stopping();
    }
    return;
  }
  if (m->kind == Message::Kind::kAdd) {
    if (stopping_readers_) {
      m->reader->Stopping();
      return;
    }
    // A new reader: wake it once (its history, or the feed from where it
    // subscribed), and keep it if it has a feed to follow.
    if (m->reader->Wake() && m->feed != nullptr) {
      Readers& r = by_feed_[m->feed.get()];
      if (r.feed == nullptr) r.feed = m->feed;
      r.readers.push_back(std::move(m->reader));
      ++readers_;
      if (next_sweep_ == absl::InfiniteFuture()) next_sweep_ = absl::Now() + absl::Seconds(1);
    }
    return;
  }
  // Release first: news published from now on claims a new hand-over.
  m->feed->ReleaseNotify();
  auto it = by_feed_.find(m->feed.get());
  if (it == by_feed_.end()) return;
  std::vector<std::shared_ptr<FeedReader>>& readers = it->second.readers;
  readers_ -= std::erase_if(readers, [](const auto& r) { return !r->Wake(); });
  if (readers.empty()) by_feed_.erase(it);
}

// Forgets readers that finished without news to notice it (a watcher that
// went away from a quiet auction), and with them their feeds.
void FeedHub::Sweep() {
  for (auto it = by_feed_.begin(); it != by_feed_.end();) {
    std::vector<std::shared_ptr<FeedReader>>& readers = it->second.readers;
    readers_ -= std::erase_if(readers, [](const auto& r) { return !r->Alive(); });
    if (readers.empty()) {
      by_feed_.erase(it++);
    } else {
      ++it;
    }
  }
  next_sweep_ = by_feed_.empty() ? absl::InfiniteFuture() : absl::Now() + absl::Seconds(1);
  reader_count_.store(readers_, std::memory_order_release);
}

}  // namespace gavel
