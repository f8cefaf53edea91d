// The resting limit orders of one double auction, by side and price level;
// each level is a FIFO queue, so walking the book visits orders in
// price-time priority. DOUBLE_CONTINUOUS matches against it and DOUBLE_CALL
// clears it (engine/double_auction.h); the rules are RULES.md's.
//
// Orders are named by their bid log entry (1-based), which is also their
// time priority: a later entry is a later order.
//
// Memory: order nodes live in one vector indexed by entry and link into
// their level's queue by index (an intrusive list); each side's levels are a
// vector sorted worst to best, so the best level is the last one and taking
// it away is a pop_back. Once the vectors have grown to the auction's size,
// adding, trading and cancelling allocate nothing. A node is 24 bytes: its
// entry is its index, and a node rests exactly while its quantity is not 0,
// so neither is stored; the book hands out Orders by value.
//
// Thread safety: none; owned by one auction on one shard.
#ifndef GAVEL_ENGINE_ORDER_BOOK_H_
#define GAVEL_ENGINE_ORDER_BOOK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/auction.h"
#include "engine/heap.h"
#include "engine/types.h"

namespace gavel {

class OrderBook {
 public:
  // A resting order.
  struct Order {
    uint32_t entry = 0;
    PrincipalId owner = kNoPrincipal;
    Side side = Side::kNone;
    int64_t price_minor = 0;
    int64_t quantity = 0;  // what still rests
  };

  // Pre-sizes for entries up to `entries` and `levels` price levels a side.
  void Reserve(size_t entries, size_t levels);

  // Rests `order` behind the orders already at its price. REQUIRES: entry
  // >= 1 and not resting; side BUY or SELL; price_minor > 0;
  // 0 < quantity <= kMaxQuantity.
  void Add(const Order& order);
  // Takes order `entry` out of the book. Returns the quantity it still had,
  // 0 when it is not resting (traded, cancelled, or never added).
  int64_t Remove(uint32_t entry);
  // `quantity` of resting order `entry` traded; it leaves the book when
  // nothing is left. REQUIRES: resting, 0 < quantity <= its quantity.
  void Reduce(uint32_t entry, int64_t quantity);
  // Takes every order out, calling f(const Order&) for each first.
  template <typename F>
  void Clear(F&& f);

  // The resting order `entry`, if it rests.
  std::optional<Order> Find(uint32_t entry) const {
    if (entry >= nodes_.size() || !nodes_[entry].resting()) return std::nullopt;
    return OrderAt(entry);
  }
  // The first order of `side` in priority (highest buy, lowest sell;
  // earliest at that price), if there is one.
  std::optional<Order> Best(Side side) const {
    const std::vector<Level>& levels = LevelsOf(side);
    if (levels.empty()) return std::nullopt;
    return OrderAt(levels.back().head);
  }

  // The levels of `side`, best first, at most `max_levels` of them,
  // appended to `out`.
  void Levels(Side side, size_t max_levels, std::vector<BookLevel>* out) const;
  // Calls f(const BookLevel&) for each level of `side`, best first, while f
  // returns true.
  template <typename F>
  void ForEachLevel(Side side, F&& f) const;
  // Calls f(const Order&) for each order of `side` in price-time priority,
  // while f returns true.
  template <typename F>
  void ForEachOrder(Side side, F&& f) const;

  // The most units one order may hold (RULES.md caps a quantity at 10^9).
  static constexpr int64_t kMaxQuantity = (int64_t{1} << 30) - 1;

  size_t level_count(Side side) const { return LevelsOf(side).size(); }
  size_t order_count() const { return resting_; }
  // The side's total resting quantity.
  int64_t Depth(Side side) const { return side == Side::kBuy ? buy_depth_ : sell_depth_; }

 private:
  static constexpr uint32_t kNil = 0;  // entry 0 is never an order
  // Levels LevelAt compares from the best end before it binary-searches.
  static constexpr int kNearTouchProbes = 8;

  struct Node {
    int64_t price_minor = 0;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    PrincipalId owner = kNoPrincipal;
    uint32_t quantity : 30 = 0;  // what still rests; 0: not resting
    Side side : 2 = Side::kNone;
    bool resting() const { return quantity != 0; }
  };
  static_assert(sizeof(Node) == 24);
  struct Level {
    int64_t price_minor = 0;
    int64_t quantity = 0;
    int64_t orders = 0;
    uint32_t head = kNil;  // earliest
    uint32_t tail = kNil;  // latest
  };

  std::vector<Level>& LevelsOf(Side side) { return side == Side::kBuy ? buys_ : sells_; }
  const std::vector<Level>& LevelsOf(Side side) const {
    return side == Side::kBuy ? buys_ : sells_;
  }
  // The level of `side` at `price`, or the position where it belongs.
  std::vector<Level>::iterator LevelAt(Side side, int64_t price);
  // Unlinks a resting node, drops its level when that empties and sets its
  // quantity to 0 (not resting).
  void Unlink(uint32_t entry);
  Order OrderAt(uint32_t entry) const {
    const Node& n = nodes_[entry];
    return Order{entry, n.owner, n.side, n.price_minor, n.quantity};
  }

  std::vector<Node, ArrayAllocator<Node>> nodes_;  // by entry; nodes_[0] unused
  std::vector<Level> buys_;   // ascending price: the best (highest) last
  std::vector<Level> sells_;  // descending price: the best (lowest) last
  size_t resting_ = 0;
  // At most 2^32 orders of at most 10^9 units each: far below int64's limit.
  int64_t buy_depth_ = 0;
  int64_t sell_depth_ = 0;
};

template <typename F>
void OrderBook::Clear(F&& f) {
  for (Side side : {Side::kBuy, Side::kSell}) {
    std::vector<Level>& levels = LevelsOf(side);
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
      for (uint32_t e = it->head; e != kNil;) {
        const Order order = OrderAt(e);
        Node& node = nodes_[e];
        e = node.next;
        node.prev = node.next = kNil;
        node.quantity = 0;
        f(order);
      }
    }
    levels.clear();
  }
  resting_ = 0;
  buy_depth_ = 0;
  sell_depth_ = 0;
}

template <typename F>
void OrderBook::ForEachLevel(Side side, F&& f) const {
  const std::vector<Level>& levels = LevelsOf(side);
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    if (!f(BookLevel{it->price_minor, it->quantity, it->orders})) return;
  }
}

template <typename F>
void OrderBook::ForEachOrder(Side side, F&& f) const {
  const std::vector<Level>& levels = LevelsOf(side);
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    for (uint32_t e = it->head; e != kNil; e = nodes_[e].next) {
      if (!f(OrderAt(e))) return;
    }
  }
}

}  // namespace gavel

#endif  // GAVEL_ENGINE_ORDER_BOOK_H_
