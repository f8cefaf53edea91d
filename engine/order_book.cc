#include "engine/order_book.h"

#include <algorithm>
#include <cassert>

namespace gavel {

void OrderBook::Reserve(size_t entries, size_t levels) {
  nodes_.reserve(entries + 1);
  buys_.reserve(levels);
  sells_.reserve(levels);
}

std::vector<OrderBook::Level>::iterator OrderBook::LevelAt(Side side, int64_t price) {
  std::vector<Level>& levels = LevelsOf(side);
  // Sorted worst to best: buys by ascending price, sells by descending.
  // `better(a, b)`: price a is better than b for this side.
  const bool buy = side == Side::kBuy;
  auto better = [buy](int64_t a, int64_t b) { return buy ? a > b : a < b; };
  // Most orders arrive, trade and leave within a few levels of the touch
  // (the vector's end), so look there first: trading at the best level and
  // cancelling near it then costs one or two compares, not a binary search.
  size_t i = levels.size();
  for (int probes = 0; probes < kNearTouchProbes && i > 0; ++probes, --i) {
    const int64_t p = levels[i - 1].price_minor;
    if (!better(p, price)) return levels.begin() + static_cast<ptrdiff_t>(p == price ? i - 1 : i);
  }
  // Deeper in the book: the first level at `price` or better.
  const auto end = levels.begin() + static_cast<ptrdiff_t>(i);
  if (buy) {
    return std::lower_bound(levels.begin(), end, price,
                            [](const Level& l, int64_t p) { return l.price_minor < p; });
  }
  return std::lower_bound(levels.begin(), end, price,
                          [](const Level& l, int64_t p) { return l.price_minor > p; });
}

void OrderBook::Add(const Order& order) {
  assert(order.entry != kNil && order.quantity > 0 && order.quantity <= kMaxQuantity);
  assert(order.side == Side::kBuy || order.side == Side::kSell);
  if (order.entry >= nodes_.size()) nodes_.resize(order.entry + 1);
  Node& node = nodes_[order.entry];
  assert(!node.resting());
  node.price_minor = order.price_minor;
  node.owner = order.owner;
  node.quantity = static_cast<uint32_t>(order.quantity);
  node.side = order.side;
  node.next = kNil;

  auto it = LevelAt(order.side, order.price_minor);
  if (it == LevelsOf(order.side).end() || it->price_minor != order.price_minor) {
    it = LevelsOf(order.side).insert(it, Level{order.price_minor, 0, 0, kNil, kNil});
  }
  node.prev = it->tail;
  if (it->tail != kNil) {
    nodes_[it->tail].next = order.entry;
  } else {
    it->head = order.entry;
  }
  it->tail = order.entry;
  it->quantity += order.quantity;
  ++it->orders;
  ++resting_;
  (order.side == Side::kBuy ? buy_depth_ : sell_depth_) += order.quantity;
}

void OrderBook::Unlink(uint32_t entry) {
  Node& node = nodes_[entry];
  const Side side = node.side;
  const int64_t quantity = node.quantity;
  auto it = LevelAt(side, node.price_minor);
  assert(it != LevelsOf(side).end() && it->price_minor == node.price_minor);
  if (node.prev != kNil) {
    nodes_[node.prev].next = node.next;
  } else {
    it->head = node.next;
  }
  if (node.next != kNil) {
    nodes_[node.next].prev = node.prev;
  } else {
    it->tail = node.prev;
  }
  node.prev = node.next = kNil;
  node.quantity = 0;
  it->quantity -= quantity;
  --it->orders;
  if (it->orders == 0) LevelsOf(side).erase(it);
  --resting_;
  (side == Side::kBuy ? buy_depth_ : sell_depth_) -= quantity;
}

int64_t OrderBook::Remove(uint32_t entry) {
  if (entry >= nodes_.size() || !nodes_[entry].resting()) return 0;
  const int64_t quantity = nodes_[entry].quantity;
  Unlink(entry);
  return quantity;
}

void OrderBook::Reduce(uint32_t entry, int64_t quantity) {
  assert(entry < nodes_.size() && nodes_[entry].resting());
  Node& node = nodes_[entry];
  assert(quantity > 0 && quantity <= node.quantity);
  if (quantity == node.quantity) {
    Unlink(entry);
    return;
  }
  // A partial trade keeps the order's place in its queue.
  auto it = LevelAt(node.side, node.price_minor);
  it->quantity -= quantity;
  node.quantity -= static_cast<uint32_t>(quantity);
  (node.side == Side::kBuy ? buy_depth_ : sell_depth_) -= quantity;
}

void OrderBook::Levels(Side side, size_t max_levels, std::vector<BookLevel>* out) const {
  ForEachLevel(side, [&](const BookLevel& level) {
    if (max_levels == 0) return false;
    --max_levels;
    out->push_back(level);
    return true;
  });
}

}  // namespace gavel
