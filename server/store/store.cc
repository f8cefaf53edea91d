#include "server/store/store.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/store/internal/pg_status.h"
#include "server/store/migrations.h"

namespace gavel {

struct Store::Connection {
  explicit Connection(const std::string& conninfo) : conn(conninfo) {}
  pqxx::connection conn;
};

namespace {

using store_internal::StatusFromCurrentException;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

// Microseconds since the Unix epoch as PostgreSQL reads them back: 'infinity' and '-infinity'
// become the int64 extremes (extract(epoch) of them does not fit a bigint).
constexpr int64_t kInfiniteFutureMicros = std::numeric_limits<int64_t>::max();
constexpr int64_t kInfinitePastMicros = std::numeric_limits<int64_t>::min();

// ---- Times and durations, exactly, at microsecond precision.
// Written as text literals in UTC ('2024-05-01 12:00:00.123456+00'), which PostgreSQL parses
// exactly; read back with extract(epoch ...), which is numeric (exact) since PostgreSQL 14.

absl::StatusOr<std::string> TimeText(absl::Time t, absl::string_view field) {
  if (t == absl::InfiniteFuture()) return std::string("infinity");
  if (t == absl::InfinitePast()) return std::string("-infinity");
  const int64_t micros = absl::ToUnixMicros(t);  // rounds down, as the audit chain does
  int64_t seconds = micros / 1000000;
  int64_t fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    seconds -= 1;
  }
  const absl::CivilSecond cs =
      absl::ToCivilSecond(absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
  // Years 1..9999: plain ISO text for PostgreSQL, and far from the int64 microsecond limits
  // that stand for the infinities when reading back.
  if (cs.year() < 1 || cs.year() > 9999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", absl::FormatTime(t), " is outside years 1..9999"));
  }
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d.%06d+00", cs.year(), cs.month(), cs.day(),
                         cs.hour(), cs.minute(), cs.second(), fraction);
}

int64_t MicrosFromTime(absl::Time t) {
  if (t == absl::InfiniteFuture()) return kInfiniteFutureMicros;
  if (t == absl::InfinitePast()) return kInfinitePastMicros;
  return absl::ToUnixMicros(t);
}

absl::Time TimeFromMicros(int64_t micros) {
  if (micros == kInfiniteFutureMicros) return absl::InfiniteFuture();
  if (micros == kInfinitePastMicros) return absl::InfinitePast();
  return absl::FromUnixMicros(micros);
}

// SQL reading timestamptz column `col` as exact Unix microseconds.
std::string MicrosOf(absl::string_view col) {
  return absl::StrCat("(CASE WHEN ", col, " = 'infinity' THEN ", kInfiniteFutureMicros, " WHEN ",
                      col, " = '-infinity' THEN ", kInfinitePastMicros, "::numeric ELSE extract(",
                      "epoch FROM ", col, ") * 1000000 END)::bigint");
}

// SQL reading interval column `col` as exact microseconds (NULL stays NULL: infinite).
std::string DurationMicrosOf(absl::string_view col) {
  return absl::StrCat("(extract(epoch FROM ", col, ") * 1000000)::bigint");
}

// An interval literal, or NULL for an infinite duration.
absl::StatusOr<std::string> IntervalSql(absl::Duration d, absl::string_view field) {
  if (d == absl::InfiniteDuration()) return std::string("NULL");
  if (d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": negative infinite duration"));
  }
  return absl::StrCat("interval '", absl::ToInt64Microseconds(d), " microseconds'");
}

// ---- Names of enums, through the engine's own name functions.

std::string Name(absl::string_view name) { return std::string(name); }

absl::StatusOr<Side> ParseSide(const std::string& name) {
  for (Side side : {Side::kNone, Side::kBuy, Side::kSell}) {
    if (SideName(side) == name) return side;
  }
  return absl::InternalError(absl::StrCat("stored side \"", name, "\" is unknown"));
}

// kUnspecified is stored by its name too, so that whatever is written can be read back.
absl::StatusOr<Format> ParseStoredFormat(absl::string_view name) {
  if (name == FormatName(Format::kUnspecified)) return Format::kUnspecified;
  return ParseFormatName(name);
}
absl::StatusOr<SettlementOutcome> ParseStoredOutcome(absl::string_view name) {
  if (name == OutcomeName(SettlementOutcome::kUnspecified)) return SettlementOutcome::kUnspecified;
  return ParseOutcomeName(name);
}
// True for the enum's named values, which survive a round trip through their names.
bool KnownFormat(Format f) { return ParseStoredFormat(FormatName(f)).value_or(Format{}) == f; }
bool KnownOutcome(SettlementOutcome o) {
  return ParseStoredOutcome(OutcomeName(o)).value_or(SettlementOutcome{}) == o;
}

// ---- Validation before anything reaches PostgreSQL.

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points past U+10FFFF.
bool IsUtf8(absl::string_view s) {
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// The database is UTF-8 and its text cannot hold NUL; checked here because libpq's escaping
// would cut a string at a NUL silently and fails on bad UTF-8 without naming the field.
absl::Status CheckText(absl::string_view value, absl::string_view field) {
  if (value.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " contains a NUL byte, which PostgreSQL text cannot store"));
  }
  if (!IsUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

absl::Status CheckSettlement(const Settlement& s) {
  if (s.auction_id.empty()) return absl::InvalidArgumentError("auction_id is empty");
  if (!KnownFormat(s.spec.format)) {
    return absl::InvalidArgumentError(absl::StrCat("settlement ", absl::CHexEscape(s.auction_id),
                                                   ": format ", static_cast<int>(s.spec.format),
                                                   " has no name"));
  }
  if (!KnownOutcome(s.outcome)) {
    return absl::InvalidArgumentError(absl::StrCat("settlement ", absl::CHexEscape(s.auction_id),
                                                   ": outcome ", static_cast<int>(s.outcome),
                                                   " has no name"));
  }
  const std::string who = absl::StrCat("settlement ", absl::CHexEscape(s.auction_id), ": ");
  auto text = [&](absl::string_view value, absl::string_view field) {
    return CheckText(value, absl::StrCat(who, field));
  };
  for (const auto& [value, field] :
       std::initializer_list<std::pair<absl::string_view, const char*>>{
           {s.auction_id, "auction_id"},
           {s.seller_id, "seller_id"},
           {s.spec.title, "title"},
           {s.spec.description, "description"},
           {s.spec.category, "category"},
           {s.spec.currency, "currency"},
           {s.spec_hash, "spec_hash"},
           {s.final_hash, "final_hash"}}) {
    if (absl::Status st = text(value, field); !st.ok()) return st;
  }
  for (const Winner& w : s.winners) {
    if (absl::Status st = text(w.bidder_id, "winners.bidder_id"); !st.ok()) return st;
    if (absl::Status st = text(w.bid_id, "winners.bid_id"); !st.ok()) return st;
  }
  for (const TradeRecord& t : s.trades) {
    for (const auto& [value, field] :
         std::initializer_list<std::pair<absl::string_view, const char*>>{
             {t.buy_bid_id, "trades.buy_bid_id"},
             {t.sell_bid_id, "trades.sell_bid_id"},
             {t.buyer_id, "trades.buyer_id"},
             {t.seller_id, "trades.seller_id"}}) {
      if (absl::Status st = text(value, field); !st.ok()) return st;
    }
  }
  for (const BidLogEntry& b : s.bids) {
    for (const auto& [value, field] :
         std::initializer_list<std::pair<absl::string_view, const char*>>{
             {b.bid_id, "bids.bid_id"},
             {b.bidder_id, "bids.bidder_id"},
             {b.result, "bids.result"},
             {b.hash, "bids.hash"}}) {
      if (absl::Status st = text(value, field); !st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

// ---- Rendering rows.

std::string IncrementTableJson(const std::vector<IncrementStep>& steps) {
  std::string out = "[";
  for (size_t i = 0; i < steps.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", "{\"from_minor\":", steps[i].from_minor,
                    ",\"step_minor\":", steps[i].step_minor, "}");
  }
  out += "]";
  return out;
}

// "(auction_id, ..., created_at)" for INSERT INTO auctions.
absl::StatusOr<std::string> AuctionValues(pqxx::transaction_base& tx, const Settlement& s) {
  const AuctionSpec& spec = s.spec;
  absl::StatusOr<std::string> starts_at = TimeText(spec.starts_at, "starts_at");
  if (!starts_at.ok()) return starts_at.status();
  absl::StatusOr<std::string> ends_at = TimeText(spec.ends_at, "ends_at");
  if (!ends_at.ok()) return ends_at.status();
  absl::StatusOr<std::string> created_at = TimeText(s.created_at, "created_at");
  if (!created_at.ok()) return created_at.status();
  absl::StatusOr<std::string> window = IntervalSql(spec.soft_close.window, "soft_close.window");
  if (!window.ok()) return window.status();
  absl::StatusOr<std::string> extension =
      IntervalSql(spec.soft_close.extension, "soft_close.extension");
  if (!extension.ok()) return extension.status();
  absl::StatusOr<std::string> cap = IntervalSql(spec.soft_close.cap, "soft_close.cap");
  if (!cap.ok()) return cap.status();
  absl::StatusOr<std::string> tick = IntervalSql(spec.dutch.tick_interval, "dutch.tick_interval");
  if (!tick.ok()) return tick.status();
  auto q = [&tx](const std::string& v) { return tx.quote(v); };
  return absl::StrCat(
      "(", q(s.auction_id), ",", q(s.seller_id), ",", q(Name(FormatName(spec.format))), ",",
      q(spec.currency), ",", spec.quantity, ",", spec.start_price_minor, ",",
      spec.reserve_price_minor, ",", spec.buy_now_price_minor, ",", q(*starts_at), ",", q(*ends_at),
      ",", q(spec.title), ",", q(spec.description), ",", q(spec.category), ",",
      spec.soft_close.enabled ? "true" : "false", ",", *window, ",", *extension, ",", *cap, ",",
      spec.dutch.decrement_minor, ",", *tick, ",", spec.dutch.floor_price_minor, ",",
      q(IncrementTableJson(spec.increment_table)), "::jsonb,", q(*created_at), ")");
}

absl::StatusOr<std::string> SettlementValues(pqxx::transaction_base& tx, const Settlement& s) {
  absl::StatusOr<std::string> closed_at = TimeText(s.closed_at, "closed_at");
  if (!closed_at.ok()) return closed_at.status();
  auto q = [&tx](const std::string& v) { return tx.quote(v); };
  return absl::StrCat("(", q(s.auction_id), ",", q(Name(OutcomeName(s.outcome))), ",",
                      s.clearing_price_minor, ",", q(*closed_at), ",", q(s.spec_hash), ",",
                      q(s.final_hash), ")");
}

// ---- Reading rows.

// Reads a row's fields left to right, so decoding stays in step with the column list.
class FieldReader {
 public:
  explicit FieldReader(const pqxx::row& row) : row_(row) {}
  std::string Text() { return row_[i_++].as<std::string>(); }
  int64_t Int() { return row_[i_++].as<int64_t>(); }
  bool Bool() { return row_[i_++].as<bool>(); }
  absl::Time Time() { return TimeFromMicros(row_[i_++].as<int64_t>()); }
  absl::Duration Duration() {
    const pqxx::field f = row_[i_++];
    return f.is_null() ? absl::InfiniteDuration() : absl::Microseconds(f.as<int64_t>());
  }

 private:
  const pqxx::row& row_;
  pqxx::row::size_type i_ = 0;
};

// The columns of one settlement without its bid log; DecodeSettlement reads them in this order.
const std::string& SettlementSelect() {
  static const std::string* const kSql = new std::string(absl::StrCat(
      "SELECT s.auction_id, a.seller_id, a.title, a.description, a.category, a.format, "
      "a.currency, a.quantity, a.start_price_minor, a.reserve_price_minor, "
      "a.buy_now_price_minor, ",
      MicrosOf("a.starts_at"), ", ", MicrosOf("a.ends_at"), ", a.soft_close_enabled, ",
      DurationMicrosOf("a.soft_close_window"), ", ", DurationMicrosOf("a.soft_close_extension"),
      ", ", DurationMicrosOf("a.soft_close_cap"), ", a.dutch_decrement_minor, ",
      DurationMicrosOf("a.dutch_tick_interval"), ", a.dutch_floor_price_minor, ",
      "(SELECT coalesce(string_agg((e->>'from_minor') || ':' || (e->>'step_minor'), ',' "
      "ORDER BY n), '') FROM jsonb_array_elements(a.increment_table) WITH ORDINALITY AS t(e, n)), ",
      MicrosOf("a.created_at"), ", s.outcome, s.clearing_price_minor, ", MicrosOf("s.closed_at"),
      ", s.spec_hash, s.final_hash ",
      "FROM settlements s JOIN auctions a ON a.auction_id = s.auction_id"));
  return *kSql;
}

absl::StatusOr<std::vector<IncrementStep>> ParseIncrements(absl::string_view text) {
  std::vector<IncrementStep> steps;
  if (text.empty()) return steps;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(item, ':');
    IncrementStep step;
    if (!absl::SimpleAtoi(parts.first, &step.from_minor) ||
        !absl::SimpleAtoi(parts.second, &step.step_minor)) {
      return absl::InternalError(absl::StrCat("stored increment_table entry \"", item,
                                              "\" is not {from_minor, step_minor}"));
    }
    steps.push_back(step);
  }
  return steps;
}

absl::StatusOr<Settlement> DecodeSettlement(const pqxx::row& row) {
  FieldReader r(row);
  Settlement s;
  s.auction_id = r.Text();
  s.seller_id = r.Text();
  AuctionSpec& spec = s.spec;
  spec.title = r.Text();
  spec.description = r.Text();
  spec.category = r.Text();
  const std::string format = r.Text();
  absl::StatusOr<Format> parsed_format = ParseStoredFormat(format);
  if (!parsed_format.ok()) {
    return absl::InternalError(
        absl::StrCat("settlement ", s.auction_id, ": ", parsed_format.status().message()));
  }
  spec.format = *parsed_format;
  spec.currency = r.Text();
  spec.quantity = r.Int();
  spec.start_price_minor = r.Int();
  spec.reserve_price_minor = r.Int();
  spec.buy_now_price_minor = r.Int();
  spec.starts_at = r.Time();
  spec.ends_at = r.Time();
  spec.soft_close.enabled = r.Bool();
  spec.soft_close.window = r.Duration();
  spec.soft_close.extension = r.Duration();
  spec.soft_close.cap = r.Duration();
  spec.dutch.decrement_minor = r.Int();
  spec.dutch.tick_interval = r.Duration();
  spec.dutch.floor_price_minor = r.Int();
  absl::StatusOr<std::vector<IncrementStep>> steps = ParseIncrements(r.Text());
  if (!steps.ok()) return steps.status();
  spec.increment_table = *std::move(steps);
  s.created_at = r.Time();
  const std::string outcome = r.Text();
  absl::StatusOr<SettlementOutcome> parsed_outcome = ParseStoredOutcome(outcome);
  if (!parsed_outcome.ok()) {
    return absl::InternalError(
        absl::StrCat("settlement ", s.auction_id, ": ", parsed_outcome.status().message()));
  }
  s.outcome = *parsed_outcome;
  s.clearing_price_minor = r.Int();
  s.closed_at = r.Time();
  s.spec_hash = r.Text();
  s.final_hash = r.Text();
  return s;
}

Winner DecodeWinner(FieldReader& r) {
  Winner w;
  w.bidder_id = r.Text();
  w.bid_id = r.Text();
  w.quantity = r.Int();
  w.price_minor = r.Int();
  return w;
}

TradeRecord DecodeTrade(FieldReader& r) {
  TradeRecord t;
  t.buy_bid_id = r.Text();
  t.sell_bid_id = r.Text();
  t.buyer_id = r.Text();
  t.seller_id = r.Text();
  t.price_minor = r.Int();
  t.quantity = r.Int();
  return t;
}

constexpr absl::string_view kWinnerColumns = "bidder_id, bid_id, quantity, price_minor";
constexpr absl::string_view kTradeColumns =
    "buy_bid_id, sell_bid_id, buyer_id, seller_id, price_minor, quantity";

// ---- Page tokens: base64url("1:<closed_at micros>:<filter fingerprint>:<auction_id>").

// FNV-1a: stable across processes and builds, unlike absl::Hash.
uint64_t Fnv1a(absl::string_view data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string FilterFingerprint(const SettlementFilter& f) {
  return absl::StrFormat(
      "%016x", Fnv1a(absl::StrCat(absl::ToUnixMicros(f.closed_after), "|",
                                  absl::ToUnixMicros(f.closed_before), "|", f.seller_id, "|",
                                  static_cast<int>(f.format), "|", static_cast<int>(f.outcome))));
}

struct PageCursor {
  int64_t closed_at_micros = 0;
  std::string auction_id;
};

std::string EncodePageToken(const PageCursor& c, const std::string& fingerprint) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("1:", c.closed_at_micros, ":", fingerprint, ":", c.auction_id));
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token,
                                           const std::string& fingerprint) {
  std::string payload;
  if (!absl::WebSafeBase64Unescape(token, &payload)) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListSettlements");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(payload, absl::MaxSplits(':', 3));
  PageCursor cursor;
  if (parts.size() != 4 || parts[0] != "1" || parts[3].empty() ||
      !absl::SimpleAtoi(parts[1], &cursor.closed_at_micros)) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListSettlements");
  }
  if (parts[2] != fingerprint) {
    return absl::InvalidArgumentError(
        "page_token: was returned for a different filter; repeat the filter that produced it");
  }
  if (parts[3].find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListSettlements");
  }
  cursor.auction_id = std::string(parts[3]);
  return cursor;
}

// Fills winners and trades of `settlements` (found by auction_id) from `ids_sql`, an SQL list.
void ReadWinnersAndTrades(pqxx::transaction_base& tx, const std::string& ids_sql,
                          std::vector<Settlement>& settlements) {
  std::map<std::string, Settlement*, std::less<>> by_id;
  for (Settlement& s : settlements) by_id[s.auction_id] = &s;
  for (const pqxx::row& row : tx.exec(absl::StrCat("SELECT auction_id, ", kWinnerColumns,
                                                   " FROM settlement_winners WHERE auction_id IN (",
                                                   ids_sql, ") ORDER BY auction_id, ordinal"))) {
    FieldReader r(row);
    Settlement* s = by_id.at(r.Text());
    s->winners.push_back(DecodeWinner(r));
  }
  for (const pqxx::row& row : tx.exec(absl::StrCat("SELECT auction_id, ", kTradeColumns,
                                                   " FROM trades WHERE auction_id IN (", ids_sql,
                                                   ") ORDER BY auction_id, ordinal"))) {
    FieldReader r(row);
    Settlement* s = by_id.at(r.Text());
    s->trades.push_back(DecodeTrade(r));
  }
}

}  // namespace

Store::Store(std::unique_ptr<Connection> connection) : connection_(std::move(connection)) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& conninfo) {
  std::unique_ptr<Connection> connection;
  try {
    connection = std::make_unique<Connection>(conninfo);
    // Our strings are UTF-8 whatever PGCLIENTENCODING says.
    connection->conn.set_client_encoding("UTF8");
  } catch (...) {
    return StatusFromCurrentException("connecting to PostgreSQL");
  }
  absl::StatusOr<int> version = ApplyMigrations(connection->conn);
  if (!version.ok()) return version.status();
  return std::unique_ptr<Store>(new Store(std::move(connection)));
}

absl::Status Store::WriteSettlements(const std::vector<const Settlement*>& batch) {
  if (batch.empty()) return absl::OkStatus();
  const std::string context = absl::StrCat("writing settlement batch of ", batch.size());
  // Sorted by auction_id: concurrent writers then take row locks in the same order (no
  // deadlock); the stable sort keeps the first of two settlements with one auction_id.
  std::vector<const Settlement*> sorted = batch;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Settlement* a, const Settlement* b) {
    return a->auction_id < b->auction_id;
  });
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [](const Settlement* a, const Settlement* b) {
                             return a->auction_id == b->auction_id;
                           }),
               sorted.end());
  for (const Settlement* s : sorted) {
    if (absl::Status st = CheckSettlement(*s); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(context, ": ", st.message()));
    }
  }
  try {
    pqxx::work tx(connection_->conn, "gavel_write_settlements");
    std::string auctions_sql =
        "INSERT INTO auctions (auction_id, seller_id, format, currency, quantity, "
        "start_price_minor, reserve_price_minor, buy_now_price_minor, starts_at, ends_at, title, "
        "description, category, soft_close_enabled, soft_close_window, soft_close_extension, "
        "soft_close_cap, dutch_decrement_minor, dutch_tick_interval, dutch_floor_price_minor, "
        "increment_table, created_at) VALUES ";
    std::string settlements_sql =
        "INSERT INTO settlements (auction_id, outcome, clearing_price_minor, closed_at, "
        "spec_hash, final_hash) VALUES ";
    for (size_t i = 0; i < sorted.size(); ++i) {
      absl::StatusOr<std::string> auction = AuctionValues(tx, *sorted[i]);
      absl::StatusOr<std::string> settlement =
          auction.ok() ? SettlementValues(tx, *sorted[i]) : auction.status();
      if (!settlement.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(context, ": settlement ",
                                                       absl::CHexEscape(sorted[i]->auction_id),
                                                       ": ", settlement.status().message()));
      }
      const char* sep = i == 0 ? "" : ",";
      absl::StrAppend(&auctions_sql, sep, *auction);
      absl::StrAppend(&settlements_sql, sep, *settlement);
    }
    // An auction row may exist without its settlement only if another writer recorded it; the
    // settlement row decides what is new.
    tx.exec(auctions_sql + " ON CONFLICT (auction_id) DO NOTHING");
    absl::flat_hash_set<std::string> fresh;
    for (const pqxx::row& row :
         tx.exec(settlements_sql + " ON CONFLICT (auction_id) DO NOTHING RETURNING auction_id")) {
      fresh.insert(row[0].as<std::string>());
    }
    size_t winners = 0, trades = 0, bids = 0;
    for (const Settlement* s : sorted) {
      if (!fresh.contains(s->auction_id)) continue;
      winners += s->winners.size();
      trades += s->trades.size();
      bids += s->bids.size();
    }
    if (winners > 0) {
      pqxx::stream_to out(tx, "settlement_winners",
                          std::vector<std::string>{"auction_id", "ordinal", "bidder_id", "bid_id",
                                                   "quantity", "price_minor"});
      for (const Settlement* s : sorted) {
        if (!fresh.contains(s->auction_id)) continue;
        for (size_t i = 0; i < s->winners.size(); ++i) {
          const Winner& w = s->winners[i];
          out << std::make_tuple(s->auction_id, static_cast<int64_t>(i), w.bidder_id, w.bid_id,
                                 w.quantity, w.price_minor);
        }
      }
      out.complete();
    }
    if (trades > 0) {
      pqxx::stream_to out(
          tx, "trades",
          std::vector<std::string>{"auction_id", "ordinal", "buy_bid_id", "sell_bid_id", "buyer_id",
                                   "seller_id", "price_minor", "quantity"});
      for (const Settlement* s : sorted) {
        if (!fresh.contains(s->auction_id)) continue;
        for (size_t i = 0; i < s->trades.size(); ++i) {
          const TradeRecord& t = s->trades[i];
          out << std::make_tuple(s->auction_id, static_cast<int64_t>(i), t.buy_bid_id,
                                 t.sell_bid_id, t.buyer_id, t.seller_id, t.price_minor, t.quantity);
        }
      }
      out.complete();
    }
    if (bids > 0) {
      // Times are checked before the COPY starts: an error return in the middle of a COPY
      // would leave the stream to its destructor.
      std::vector<std::string> at_texts;
      at_texts.reserve(bids);
      for (const Settlement* s : sorted) {
        if (!fresh.contains(s->auction_id)) continue;
        for (const BidLogEntry& b : s->bids) {
          absl::StatusOr<std::string> at = TimeText(b.at, "bids.at");
          if (!at.ok()) {
            return absl::InvalidArgumentError(absl::StrCat(context, ": settlement ",
                                                           absl::CHexEscape(s->auction_id), ": ",
                                                           at.status().message()));
          }
          at_texts.push_back(*std::move(at));
        }
      }
      pqxx::stream_to out(
          tx, "bids",
          std::vector<std::string>{"auction_id", "sequence", "bid_id", "bidder_id", "amount_minor",
                                   "quantity", "side", "at", "result", "hash"});
      size_t k = 0;
      for (const Settlement* s : sorted) {
        if (!fresh.contains(s->auction_id)) continue;
        for (const BidLogEntry& b : s->bids) {
          // Sequence is uint64; bigint keeps the bits (values above 2^63 read back unchanged).
          out << std::make_tuple(s->auction_id, static_cast<int64_t>(b.sequence), b.bid_id,
                                 b.bidder_id, b.amount_minor, b.quantity, Name(SideName(b.side)),
                                 at_texts[k++], b.result, b.hash);
        }
      }
      out.complete();
    }
    tx.commit();
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException(context);
  }
}

absl::StatusOr<Settlement> Store::GetSettlement(absl::string_view auction_id) {
  if (absl::Status st = CheckText(auction_id, "auction_id"); !st.ok()) return st;
  const std::string context = absl::StrCat("reading settlement ", absl::CHexEscape(auction_id));
  try {
    pqxx::read_transaction tx(connection_->conn, "gavel_get_settlement");
    const std::string id = tx.quote(std::string(auction_id));
    pqxx::result head = tx.exec(absl::StrCat(SettlementSelect(), " WHERE s.auction_id = ", id));
    if (head.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no settlement with auction_id \"", absl::CHexEscape(auction_id),
          "\": the auction has not closed yet, or does not exist (a settlement reaches "
          "PostgreSQL within seconds of the close while PostgreSQL is up)"));
    }
    absl::StatusOr<Settlement> decoded = DecodeSettlement(head[0]);
    if (!decoded.ok()) return decoded.status();
    std::vector<Settlement> one;
    one.push_back(*std::move(decoded));
    ReadWinnersAndTrades(tx, id, one);
    Settlement& s = one.front();
    pqxx::result bids = tx.exec(absl::StrCat(
        "SELECT sequence, bid_id, bidder_id, amount_minor, quantity, side, ", MicrosOf("at"),
        ", result, hash FROM bids WHERE auction_id = ", id, " ORDER BY sequence"));
    s.bids.reserve(bids.size());
    for (const pqxx::row& row : bids) {
      FieldReader r(row);
      BidLogEntry b;
      b.sequence = static_cast<Sequence>(r.Int());
      b.bid_id = r.Text();
      b.bidder_id = r.Text();
      b.amount_minor = r.Int();
      b.quantity = r.Int();
      absl::StatusOr<Side> side = ParseSide(r.Text());
      if (!side.ok()) return side.status();
      b.side = *side;
      b.at = r.Time();
      b.result = r.Text();
      b.hash = r.Text();
      s.bids.push_back(std::move(b));
    }
    tx.commit();
    return std::move(s);
  } catch (...) {
    return StatusFromCurrentException(context);
  }
}

absl::StatusOr<SettlementPage> Store::ListSettlements(const SettlementFilter& filter) {
  if (filter.page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", filter.page_size, " is negative"));
  }
  const int page_size =
      filter.page_size == 0 ? kDefaultPageSize : std::min(filter.page_size, kMaxPageSize);
  if (!KnownFormat(filter.format)) {
    return absl::InvalidArgumentError(
        absl::StrCat("format: ", static_cast<int>(filter.format), " is not a format"));
  }
  if (!KnownOutcome(filter.outcome)) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome: ", static_cast<int>(filter.outcome), " is not an outcome"));
  }
  if (filter.closed_after > filter.closed_before) {
    return absl::InvalidArgumentError(absl::StrCat(
        "closed_after (", absl::FormatTime(filter.closed_after), ") is later than closed_before (",
        absl::FormatTime(filter.closed_before), ")"));
  }
  if (absl::Status st = CheckText(filter.seller_id, "seller_id"); !st.ok()) return st;
  const std::string fingerprint = FilterFingerprint(filter);
  std::optional<PageCursor> cursor;
  if (!filter.page_token.empty()) {
    absl::StatusOr<PageCursor> decoded = DecodePageToken(filter.page_token, fingerprint);
    if (!decoded.ok()) return decoded.status();
    cursor = *std::move(decoded);
  }
  std::optional<std::string> after, before, cursor_at;
  if (filter.closed_after != absl::InfinitePast()) {
    absl::StatusOr<std::string> t = TimeText(filter.closed_after, "closed_after");
    if (!t.ok()) return t.status();
    after = *t;
  }
  if (filter.closed_before != absl::InfiniteFuture()) {
    absl::StatusOr<std::string> t = TimeText(filter.closed_before, "closed_before");
    if (!t.ok()) return t.status();
    before = *t;
  }
  if (cursor) {
    absl::StatusOr<std::string> t =
        TimeText(TimeFromMicros(cursor->closed_at_micros), "page_token");
    if (!t.ok()) {
      return absl::InvalidArgumentError("page_token: not a token returned by ListSettlements");
    }
    cursor_at = *t;
  }
  try {
    pqxx::read_transaction tx(connection_->conn, "gavel_list_settlements");
    auto q = [&tx](const std::string& v) { return tx.quote(v); };
    std::string sql = absl::StrCat(SettlementSelect(), " WHERE true");
    if (after) absl::StrAppend(&sql, " AND s.closed_at >= ", q(*after), "::timestamptz");
    if (before) absl::StrAppend(&sql, " AND s.closed_at < ", q(*before), "::timestamptz");
    if (!filter.seller_id.empty())
      absl::StrAppend(&sql, " AND a.seller_id = ", q(filter.seller_id));
    if (filter.format != Format::kUnspecified) {
      absl::StrAppend(&sql, " AND a.format = ", q(Name(FormatName(filter.format))));
    }
    if (filter.outcome != SettlementOutcome::kUnspecified) {
      absl::StrAppend(&sql, " AND s.outcome = ", q(Name(OutcomeName(filter.outcome))));
    }
    if (cursor) {
      absl::StrAppend(&sql, " AND (s.closed_at, s.auction_id) > (", q(*cursor_at),
                      "::timestamptz, ", q(cursor->auction_id), ")");
    }
    // One row more than the page tells whether another page follows.
    absl::StrAppend(&sql, " ORDER BY s.closed_at, s.auction_id LIMIT ", page_size + 1);
    pqxx::result rows = tx.exec(sql);
    SettlementPage page;
    const size_t n = std::min(rows.size(), static_cast<size_t>(page_size));
    page.settlements.reserve(n);
    std::string ids_sql;
    for (size_t i = 0; i < n; ++i) {
      absl::StatusOr<Settlement> s = DecodeSettlement(rows[i]);
      if (!s.ok()) return s.status();
      absl::StrAppend(&ids_sql, i == 0 ? "" : ",", q(s->auction_id));
      page.settlements.push_back(*std::move(s));
    }
    if (n > 0) ReadWinnersAndTrades(tx, ids_sql, page.settlements);
    tx.commit();
    if (rows.size() > n) page.next_page_token = PageTokenAfter(page.settlements.back(), filter);
    return page;
  } catch (...) {
    return StatusFromCurrentException("listing settlements");
  }
}

std::string Store::PageTokenAfter(const Settlement& last, const SettlementFilter& filter) {
  return EncodePageToken(PageCursor{MicrosFromTime(last.closed_at), last.auction_id},
                         FilterFingerprint(filter));
}

absl::StatusOr<std::vector<std::string>> Store::DatabaseSettingsWarnings() {
  try {
    pqxx::read_transaction tx(connection_->conn, "gavel_settings");
    std::vector<std::string> warnings;
    for (const pqxx::row& row :
         tx.exec("SELECT name, setting FROM pg_settings WHERE name IN "
                 "('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name")) {
      const std::string name = row[0].as<std::string>();
      const std::string setting = row[1].as<std::string>();
      if (setting != "off") continue;
      if (name == "fsync") {
        warnings.push_back(
            "PostgreSQL runs with fsync=off: a crash of the machine can lose or corrupt "
            "committed settlements");
      } else if (name == "synchronous_commit") {
        warnings.push_back(
            "PostgreSQL runs with synchronous_commit=off: settlements reported as committed "
            "(and dropped from the journal) can be lost if PostgreSQL crashes");
      } else if (name == "full_page_writes") {
        warnings.push_back(
            "PostgreSQL runs with full_page_writes=off: a crash can leave tables corrupt");
      }
    }
    tx.commit();
    return warnings;
  } catch (...) {
    return StatusFromCurrentException("reading PostgreSQL settings");
  }
}

absl::StatusOr<uint64_t> Store::HighestAuctionNumber() {
  try {
    pqxx::read_transaction tx(connection_->conn, "gavel_highest_auction");
    const pqxx::row row = tx.exec1(
        "SELECT coalesce(max(substr(auction_id, 2)::numeric), 0)::text FROM auctions "
        "WHERE auction_id ~ '^A[0-9]{1,19}$'");
    tx.commit();
    const std::string text = row[0].as<std::string>();
    uint64_t n = 0;
    if (!absl::SimpleAtoi(text, &n)) {
      return absl::InternalError(absl::StrCat("auction number out of range: ", text));
    }
    return n;
  } catch (...) {
    return StatusFromCurrentException("reading the highest auction id");
  }
}

}  // namespace gavel
