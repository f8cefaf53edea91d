// Live events of watched auctions, broadcast from a shard to any number of
// watchers at a cost to the shard that does not depend on how many there are.
//
// EventFeed: one watched auction's recent events in a ring of `capacity`
// slots, written by its shard thread, read by every watcher.
// - Writer: the shard thread only (Publish). For event i it stores the
//   slot's version 2i+1 (relaxed: "being written"), then the event's words,
//   each with release (so a reader that sees any of them also sees the odd
//   version or a later one), then version 2i+2 with release, then
//   published_ = i+1 (seq_cst: see the notification below).
// - Readers: any threads, none of them known to the writer (Read). A reader
//   of event i < published_ (acquire) loads the version (acquire), the words
//   (acquire each, so the version's second load cannot move before them),
//   and the version again: event i was read whole exactly when both loads
//   are 2i+2. Otherwise the writer has lapped that reader: event i is gone
//   (kOverwritten), and the reader is told to resume right after the last
//   event it got (every event has a sequence of its own, so nothing is lost
//   or repeated).
//   Every access to a slot is atomic, so there is no data race for the
//   compiler or for ThreadSanitizer, and nothing a reader does can slow the
//   writer: this is a seqlock per slot.
// - Slots live in pages of up to 64, allocated by the writer when it first
//   reaches them (a watched auction with few events costs a page, not the
//   whole capacity) and kept until the feed is freed. The writer stores a
//   page's pointer (release) before it publishes any event in it, so a
//   reader that saw the event published finds the page.
// - The closed event's settlement is not in a slot: the writer stores it in
//   settlement_ before it publishes that event, and a reader takes it only
//   after reading the event (the acquire of published_ orders the two).
//
// Notification (who wakes readers that have caught up): the shard, after
// each Publish, calls ClaimNotify; only when it returns true does it hand
// the feed to the FeedHub, so at most one hand-over per feed is in flight.
// The hub calls ReleaseNotify before it wakes the feed's readers. The
// store of published_, the claim, the release and Read's load of
// published_ are all seq_cst: if the shard's claim failed, the hub's
// release came later in the single order of seq_cst operations, and a
// reader's Read after its wake-up later still, so it sees the event. (An
// acquire load there would be enough on x86 but not by the C++ model.)
//
// Subscription: what one watcher reads, in order: its replayed history (a
// private copy made on the shard thread), then the feed from the position
// it subscribed at. Owned by one reader thread at a time.
//
// FeedHub: one thread that wakes watchers. Shards tell it that a feed has
// news (FeedUpdated) and hand it new readers (Add) through a lock-free
// stack of messages; it then calls Wake on each of that feed's readers.
// The shard's cost per event is one Publish and, when no hand-over is
// already in flight, one push and possibly one futex wake: a thousand
// watchers cost the shard what one does. A reader's Wake must not block.
#ifndef GAVEL_ENGINE_EVENT_FEED_H_
#define GAVEL_ENGINE_EVENT_FEED_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "engine/auction.h"
#include "engine/mpsc_ring.h"

namespace gavel {

class EventFeed {
 public:
  // `capacity` (rounded up to a power of two) events are kept: a reader
  // more than that many behind the writer is told it fell behind.
  explicit EventFeed(size_t capacity);
  ~EventFeed();
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Writer (the shard thread).
  void Publish(const AuctionEvent& event);
  // True when the caller must hand this feed to the hub (see above).
  bool ClaimNotify() {
    return !notify_claimed_.load(std::memory_order_seq_cst) &&
           !notify_claimed_.exchange(true, std::memory_order_seq_cst);
  }

  // The hub, before it wakes this feed's readers.
  void ReleaseNotify() { notify_claimed_.store(false, std::memory_order_seq_cst); }

  // Any thread: how many events were published so far.
  uint64_t published() const { return published_.load(std::memory_order_seq_cst); }

  enum class ReadResult { kEvent, kNotYet, kOverwritten };
  // Any thread: event `index` (0-based, in publication order).
  ReadResult Read(uint64_t index, AuctionEvent* out) const;

 private:
  static constexpr size_t kWords = (sizeof(AuctionEventFields) + 7) / 8;
  static constexpr size_t kPageSlots = 64;
  struct Slot {
    std::atomic<uint64_t> version{0};  // 2i+1 while event i is written, 2i+2 once it is
    std::atomic<uint64_t> words[kWords] = {};
  };

  const Slot& SlotOf(uint64_t index) const {
    const uint64_t j = index & mask_;
    return pages_[j / page_slots_].load(std::memory_order_acquire)[j % page_slots_];
  }

  const uint64_t mask_;
  const uint64_t page_slots_;                     // min(kPageSlots, capacity)
  std::unique_ptr<std::atomic<Slot*>[]> pages_;   // null until the writer reaches it
  uint64_t next_ = 0;                             // writer only: the index of the next event
  std::shared_ptr<const Settlement> settlement_;  // see the invariants above
  alignas(kCacheLine) std::atomic<uint64_t> published_{0};
  alignas(kCacheLine) std::atomic<bool> notify_claimed_{false};
};

// One watcher's events: history first, then the live feed.
class Subscription {
 public:
  enum class Next {
    kEvent,   // *out is the next event
    kWait,    // nothing new yet
    kEnd,     // the close was delivered (or the auction was over already)
    kBehind,  // fell more than the feed's capacity behind; see resume_from
  };
  Subscription() = default;
  Subscription(Subscription&&) = default;
  Subscription& operator=(Subscription&&) = default;

  // After kWait, Poll has news once feed()->published() > cursor().
  Next Poll(AuctionEvent* out);
  uint64_t cursor() const { return cursor_; }
  // The sequence to subscribe again from to get every event not delivered.
  Sequence resume_from() const { return last_sequence_ + 1; }
  // After kBehind: true when the history asked for held more than
  // capacity() events (the first capacity() were delivered), false when the
  // watcher fell behind the live feed.
  bool history_cut() const { return history_cut_; }
  // How many events a feed keeps (and a replay gives at once): what
  // "behind" means.
  size_t capacity() const { return capacity_; }
  // Null when the auction was over at Subscribe; kept after the close.
  const std::shared_ptr<EventFeed>& feed() const { return feed_; }

 private:
  friend class Shard;

  std::vector<AuctionEvent> history_;
  size_t history_next_ = 0;
  bool history_cut_ = false;  // more history than capacity_
  size_t capacity_ = 0;
  std::shared_ptr<EventFeed> feed_;
  uint64_t cursor_ = 0;         // the next feed index to read
  Sequence last_sequence_ = 0;  // of the last event delivered (or before the first)
  bool ended_ = false;
};

// A watcher as the hub sees it.
class FeedReader {
 public:
  virtual ~FeedReader() = default;
  // Hub thread: there may be new events (or this reader was just added).
  // Must not block. False once this reader is finished: the hub forgets it.
  virtual bool Wake() = 0;
  // Hub thread, periodically: false once finished (the hub forgets it).
  virtual bool Alive() const = 0;
  // Hub thread, after StopReaders: the server is going away; end now
  // (telling the client where to resume). Must not block.
  virtual void Stopping() = 0;
};

class FeedHub {
 public:
  FeedHub();
  ~FeedHub();  // Stop
  FeedHub(const FeedHub&) = delete;
  FeedHub& operator=(const FeedHub&) = delete;

  void Start();
  // Joins the thread and forgets every reader. Idempotent.
  void Stop();

  // Any thread (the shard's): `feed` has news; the caller won ClaimNotify.
  void FeedUpdated(std::shared_ptr<EventFeed> feed);
  // Any thread (the shard's, right after Subscribe): wake `reader` now, and
  // whenever `feed` has news until it reports itself finished. `feed` may
  // be null (an auction already over: one wake).
  void Add(std::shared_ptr<EventFeed> feed, std::shared_ptr<FeedReader> reader);

  // Any thread: tells every reader the hub holds, and every one added from
  // now on, that the server is stopping (FeedReader::Stopping).
  void StopReaders();

  // Readers the hub holds now (hub thread's view; for tests).
  size_t readers_for_test() const { return reader_count_.load(std::memory_order_acquire); }

 private:
  struct Message {
    Message* next = nullptr;
    enum class Kind { kFeedUpdated, kAdd, kStopReaders } kind = Kind::kFeedUpdated;
    std::shared_ptr<EventFeed> feed;
    std::shared_ptr<FeedReader> reader;  // kAdd only
  };
  struct Readers {
    std::shared_ptr<EventFeed> feed;
    std::vector<std::shared_ptr<FeedReader>> readers;
  };

  void Push(Message* m);
  void Loop();
  void Handle(Message* m);
  void Sweep();

  // Multi-producer stack: pushed with a CAS (release), taken whole by the
  // hub with an exchange (acquire).
  alignas(kCacheLine) std::atomic<Message*> inbox_{nullptr};
  // Futex word: 1 while the hub sleeps (or is about to). A pusher that sees
  // 1 after its push (seq_cst on both sides) wakes it.
  alignas(kCacheLine) std::atomic<uint32_t> parked_{0};
  std::atomic<bool> stop_{false};
  std::atomic<size_t> reader_count_{0};
  std::thread thread_;
  bool started_ = false;
  // Hub thread only.
  absl::flat_hash_map<const EventFeed*, Readers> by_feed_;
  size_t readers_ = 0;
  bool stopping_readers_ = false;
  absl::Time next_sweep_ = absl::InfiniteFuture();
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_EVENT_FEED_H_
