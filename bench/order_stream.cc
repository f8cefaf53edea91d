// The seeded double-auction order stream (format in order_stream.h).
#include "bench/order_stream.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/bench_util.h"

namespace gavel::bench {
namespace {

constexpr absl::string_view kMagic = "gavel-orderstream 1";
constexpr int64_t kStartPrice = 100'000;
constexpr uint32_t kOwners = 1000;
constexpr uint64_t kDepthTicks = 16;   // limit orders rest 0..15 ticks behind their side's best
constexpr uint64_t kThroughTicks = 4;  // crossing orders reach 0..4 ticks through the opposite best
constexpr uint64_t kCrossMaxQuantity = 40;  // crossing orders take 1..40 units

// A deliberately plain book (std::map of FIFO queues, lazy deletion) that
// follows RULES.md "DOUBLE_CONTINUOUS": the generator's model of what rests,
// and the source of the stream's expected totals. Written separately from
// engine/order_book.cc so that the two check each other.
class ReferenceBook {
 public:
  struct Order {
    uint32_t owner = 0;
    bool buy = false;
    int64_t price = 0;
    int64_t left = 0;
    bool resting = false;
    uint32_t pos = 0;  // index in resting_
  };

  void Place(uint32_t id, uint32_t owner, bool buy, int64_t price, int64_t quantity, bool ioc) {
    if (id >= orders_.size()) orders_.resize(id + 1);
    int64_t left = quantity;
    while (left > 0) {
      std::map<int64_t, Level>& opposite = buy ? sells_ : buys_;
      if (opposite.empty()) break;
      auto it = buy ? opposite.begin() : std::prev(opposite.end());
      if (buy ? it->first > price : it->first < price) break;
      Level& level = it->second;
      while (!orders_[level.queue.front()].resting) level.queue.pop_front();
      const uint32_t counter = level.queue.front();
      Order& r = orders_[counter];
      if (r.owner == owner) {  // no self-trade: the resting order goes
        Remove(counter);
        continue;
      }
      const int64_t traded = std::min(left, r.left);
      r.left -= traded;
      left -= traded;
      ++totals_.trades;
      totals_.volume += traded;
      if (r.left == 0) Remove(counter);
    }
    Order& o = orders_[id];
    o = Order{owner, buy, price, left, false, 0};
    if (left == 0 || ioc) return;
    o.resting = true;
    o.pos = static_cast<uint32_t>(resting_.size());
    resting_.push_back(id);
    Level& level = (buy ? buys_ : sells_)[price];
    level.queue.push_back(id);
    ++level.live;
  }

  void Remove(uint32_t id) {
    Order& o = orders_[id];
    if (!o.resting) return;
    o.resting = false;
    std::map<int64_t, Level>& side = o.buy ? buys_ : sells_;
    auto it = side.find(o.price);
    if (--it->second.live == 0) side.erase(it);
    const uint32_t last = resting_.back();
    resting_[o.pos] = last;
    orders_[last].pos = o.pos;
    resting_.pop_back();
  }

  std::optional<int64_t> Best(bool buy) const {
    if (buy) return buys_.empty() ? std::nullopt : std::optional<int64_t>(buys_.rbegin()->first);
    return sells_.empty() ? std::nullopt : std::optional<int64_t>(sells_.begin()->first);
  }
  const std::vector<uint32_t>& resting() const { return resting_; }
  const Order& order(uint32_t id) const { return orders_[id]; }

  StreamTotals Totals() const {
    StreamTotals t = totals_;
    t.resting = static_cast<int64_t>(resting_.size());
    for (uint32_t id : resting_) t.resting_quantity += orders_[id].left;
    return t;
  }

 private:
  struct Level {
    std::deque<uint32_t> queue;  // by time; cancelled/traded ids linger until they reach the front
    int64_t live = 0;
  };
  std::map<int64_t, Level> buys_;
  std::map<int64_t, Level> sells_;
  std::vector<Order> orders_;      // by order number; [0] unused
  std::vector<uint32_t> resting_;  // ids of resting orders, any order
  StreamTotals totals_;
};

// Parses one unsigned/signed decimal field of `line` at `*pos`, skipping one
// leading space.
template <typename T>
bool Field(absl::string_view line, size_t* pos, T* out) {
  if (*pos < line.size() && line[*pos] == ' ') ++*pos;
  const char* begin = line.data() + *pos;
  const char* end = line.data() + line.size();
  auto [p, ec] = std::from_chars(begin, end, *out);
  if (ec != std::errc() || p == begin) return false;
  *pos = static_cast<size_t>(p - line.data());
  return true;
}
bool Char(absl::string_view line, size_t* pos, char* out) {
  if (*pos < line.size() && line[*pos] == ' ') ++*pos;
  if (*pos >= line.size()) return false;
  *out = line[(*pos)++];
  return true;
}

}  // namespace

OrderStream GenerateOrderStream(uint64_t seed, int64_t ops) {
  OrderStream s;
  s.seed = seed;
  s.ops.reserve(static_cast<size_t>(ops));
  uint64_t rng = seed;
  ReferenceBook book;
  uint32_t next_order = 1;
  int64_t reference = kStartPrice;  // the last mid, for a side that is empty
  for (int64_t i = 0; i < ops; ++i) {
    const uint64_t r = NextRandom(&rng);
    const uint64_t r2 = NextRandom(&rng);
    const uint32_t u = static_cast<uint32_t>(r % 100);
    if (u < 30 && !book.resting().empty()) {
      const uint32_t id = book.resting()[r2 % book.resting().size()];
      StreamOp op;
      op.kind = StreamOp::Kind::kCancel;
      op.order = id;
      op.owner = book.order(id).owner;
      book.Remove(id);
      s.ops.push_back(op);
      ++s.cancels;
      continue;
    }
    StreamOp op;
    op.kind = StreamOp::Kind::kOrder;
    op.order = next_order++;
    op.buy = ((r >> 8) & 1) != 0;
    op.owner = 1 + static_cast<uint32_t>((r >> 16) % kOwners);
    const std::optional<int64_t> bid = book.Best(true);
    const std::optional<int64_t> ask = book.Best(false);
    if (bid && ask) reference = (*bid + *ask) / 2;
    const std::optional<int64_t> opposite = op.buy ? ask : bid;
    if (u >= 30 && u < 40 && opposite) {
      // Crossing: through the opposite touch by 0-kThroughTicks ticks.
      const int64_t through = static_cast<int64_t>((r >> 32) % (kThroughTicks + 1));
      op.price_minor = op.buy ? *opposite + through : *opposite - through;
      op.quantity = 1 + static_cast<int32_t>((r >> 40) % kCrossMaxQuantity);
      op.ioc = ((r >> 50) & 1) != 0;
      ++s.crossing;
    } else {
      // Near the touch: 0-15 ticks behind the own side's best (small
      // distances likelier), or 1 in 10 inside the spread.
      const std::optional<int64_t> own = op.buy ? bid : ask;
      const int64_t distance =
          static_cast<int64_t>(std::min((r2 >> 8) % kDepthTicks, (r2 >> 24) % kDepthTicks));
      int64_t price;
      if (own) {
        price = op.buy ? *own - distance : *own + distance;
      } else if (opposite) {
        price = op.buy ? *opposite - 1 - distance : *opposite + 1 + distance;
      } else {
        price = op.buy ? reference - distance : reference + 1 + distance;
      }
      if (bid && ask && *ask - *bid > 1 && r2 % 10 == 0) {
        price =
            *bid + 1 + static_cast<int64_t>((r2 >> 40) % static_cast<uint64_t>(*ask - *bid - 1));
      }
      if (op.buy && ask && price >= *ask) price = *ask - 1;
      if (!op.buy && bid && price <= *bid) price = *bid + 1;
      op.price_minor = std::max<int64_t>(price, 1);
      op.quantity = 1 + static_cast<int32_t>((r >> 40) % 10);
      op.ioc = false;
    }
    book.Place(op.order, op.owner, op.buy, op.price_minor, op.quantity, op.ioc);
    s.ops.push_back(op);
    ++s.orders;
  }
  s.expect = book.Totals();
  return s;
}

absl::Status WriteOrderStream(const OrderStream& s, const std::string& path) {
  std::string text;
  text.reserve(s.ops.size() * 32 + 512);
  absl::StrAppend(&text, kMagic, "\n",
                  "# Double-auction order stream; format in gavel bench/order_stream.h and "
                  "BENCHMARKS.md.\n",
                  "# O <order> <owner> <B|S> <price_minor> <quantity> <G|I>; C <order> <owner>\n",
                  "seed ", s.seed, "\n", "ops ", s.ops.size(), " orders ", s.orders, " crossing ",
                  s.crossing, " cancels ", s.cancels, "\n", "expect trades ", s.expect.trades,
                  " volume ", s.expect.volume, " resting ", s.expect.resting, " resting_quantity ",
                  s.expect.resting_quantity, "\n");
  for (const StreamOp& op : s.ops) {
    if (op.kind == StreamOp::Kind::kCancel) {
      absl::StrAppend(&text, "C ", op.order, " ", op.owner, "\n");
    } else {
      absl::StrAppend(&text, "O ", op.order, " ", op.owner, op.buy ? " B " : " S ", op.price_minor,
                      " ", op.quantity, op.ioc ? " I\n" : " G\n");
    }
  }
  // Write to a temporary name and rename, so a reader never sees half a file.
  const std::string tmp = absl::StrCat(path, ".tmp", getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat("cannot create ", tmp));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<OrderStream> ReadOrderStream(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);

  OrderStream s;
  absl::string_view rest(text);
  int64_t line_no = 0;
  uint32_t next_order = 1;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", why));
  };
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    absl::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == absl::string_view::npos ? rest.size() : eol + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != kMagic) return bad(absl::StrCat("expected \"", kMagic, "\""));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    size_t pos = 1;
    if (line[0] == 'O' || line[0] == 'C') {
      StreamOp op;
      uint32_t order = 0;
      if (!Field(line, &pos, &order) || !Field(line, &pos, &op.owner)) {
        return bad("expected <order> <owner>");
      }
      op.order = order;
      if (line[0] == 'C') {
        op.kind = StreamOp::Kind::kCancel;
        if (order == 0 || order >= next_order) return bad("cancels an order not yet placed");
        ++s.cancels;
      } else {
        char side = 0;
        char tif = 0;
        if (!Char(line, &pos, &side) || !Field(line, &pos, &op.price_minor) ||
            !Field(line, &pos, &op.quantity) || !Char(line, &pos, &tif) ||
            (side != 'B' && side != 'S') || (tif != 'G' && tif != 'I') || op.price_minor <= 0 ||
            op.quantity <= 0) {
          return bad("expected O <order> <owner> <B|S> <price> <quantity> <G|I>");
        }
        if (order != next_order) return bad(absl::StrCat("expected order number ", next_order));
        ++next_order;
        op.buy = side == 'B';
        op.ioc = tif == 'I';
        ++s.orders;
      }
      s.ops.push_back(op);
      continue;
    }
    // Header lines: "<key> <value> [<key> <value> ...]".
    absl::string_view words = line;
    auto take = [&]() {
      const size_t sp = words.find(' ');
      absl::string_view w = words.substr(0, sp);
      words.remove_prefix(sp == absl::string_view::npos ? words.size() : sp + 1);
      return w;
    };
    absl::string_view key = take();
    if (key == "expect") key = take();
    while (!key.empty()) {
      const absl::string_view value = take();
      int64_t v = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), v).ec != std::errc()) {
        return bad(absl::StrCat("bad value for ", key));
      }
      if (key == "seed") s.seed = static_cast<uint64_t>(v);
      if (key == "crossing") s.crossing = v;
      if (key == "trades") s.expect.trades = v;
      if (key == "volume") s.expect.volume = v;
      if (key == "resting") s.expect.resting = v;
      if (key == "resting_quantity") s.expect.resting_quantity = v;
      key = take();
    }
  }
  return s;
}

std::string DefaultOrderStreamPath(uint64_t seed, int64_t ops) {
  if (const char* env = std::getenv("GAVEL_ORDER_STREAM"); env != nullptr && *env != '\0') {
    return env;
  }
  std::string dir = "/tmp";
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    absl::string_view p(exe, static_cast<size_t>(n));
    const size_t slash = p.rfind('/');
    if (slash != absl::string_view::npos && slash > 0) dir = std::string(p.substr(0, slash));
  }
  return absl::StrCat(dir, "/orderstream-", seed, "-", ops, ".txt");
}

absl::StatusOr<OrderStream> LoadOrGenerate(const std::string& path, uint64_t seed, int64_t ops) {
  absl::StatusOr<OrderStream> s = ReadOrderStream(path);
  if (s.ok() || !absl::IsNotFound(s.status())) return s;
  if (absl::Status st = WriteOrderStream(GenerateOrderStream(seed, ops), path); !st.ok()) {
    return st;
  }
  return ReadOrderStream(path);
}

}  // namespace gavel::bench
