#include "engine/journal_record.h"

#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gavel {
namespace {

constexpr uint32_t kHeaderMagic = 0x4c564147;  // "GAVL" little-endian
constexpr uint16_t kFormatVersion = 1;

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Fixed(v); }
  void U32(uint32_t v) { Fixed(v); }
  void U64(uint64_t v) { Fixed(v); }
  void I32(int32_t v) { Fixed(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
  void Str(absl::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s.data(), s.size());
  }
  void Time(absl::Time t) {
    if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
      I64(t == absl::InfiniteFuture() ? std::numeric_limits<int64_t>::max()
                                      : std::numeric_limits<int64_t>::min());
      I32(0);
      return;
    }
    const int64_t sec = absl::ToUnixSeconds(t);  // floor
    I64(sec);
    I32(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(sec))));
  }
  void Duration(absl::Duration d) {
    if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
      I64(d > absl::ZeroDuration() ? std::numeric_limits<int64_t>::max()
                                   : std::numeric_limits<int64_t>::min());
      I32(0);
      return;
    }
    absl::Duration rem;
    const int64_t sec = absl::IDivDuration(d, absl::Seconds(1), &rem);
    I64(sec);
    I32(static_cast<int32_t>(absl::ToInt64Nanoseconds(rem)));
  }

 private:
  template <typename T>
  void Fixed(T v) {
    char buf[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_->append(buf, sizeof(T));
  }
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  bool AtEnd() const { return in_.empty(); }

  uint8_t U8(const char* field) { return static_cast<uint8_t>(Fixed<uint8_t>(field)); }
  uint16_t U16(const char* field) { return Fixed<uint16_t>(field); }
  uint32_t U32(const char* field) { return Fixed<uint32_t>(field); }
  uint64_t U64(const char* field) { return Fixed<uint64_t>(field); }
  int32_t I32(const char* field) { return static_cast<int32_t>(Fixed<uint32_t>(field)); }
  int64_t I64(const char* field) { return static_cast<int64_t>(Fixed<uint64_t>(field)); }
  bool Bool(const char* field) {
    const uint8_t v = U8(field);
    if (v > 1) Fail(field, "is not 0 or 1");
    return v == 1;
  }
  std::string Str(const char* field) {
    const uint32_t n = U32(field);
    if (!ok_) return {};
    if (n > in_.size()) {
      Fail(field, "is longer than the record");
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  absl::Time Time(const char* field) {
    const int64_t sec = I64(field);
    const int32_t nanos = I32(field);
    if (sec == std::numeric_limits<int64_t>::max() && nanos == 0) return absl::InfiniteFuture();
    if (sec == std::numeric_limits<int64_t>::min() && nanos == 0) return absl::InfinitePast();
    if (nanos < 0 || nanos >= 1'000'000'000) Fail(field, "has nanoseconds out of range");
    return absl::FromUnixSeconds(sec) + absl::Nanoseconds(nanos);
  }
  absl::Duration Duration(const char* field) {
    const int64_t sec = I64(field);
    const int32_t nanos = I32(field);
    if (sec == std::numeric_limits<int64_t>::max() && nanos == 0) return absl::InfiniteDuration();
    if (sec == std::numeric_limits<int64_t>::min() && nanos == 0) return -absl::InfiniteDuration();
    if (nanos <= -1'000'000'000 || nanos >= 1'000'000'000) {
      Fail(field, "has nanoseconds out of range");
    }
    return absl::Seconds(sec) + absl::Nanoseconds(nanos);
  }
  void Fail(const char* field, absl::string_view why) {
    if (!ok_) return;
    ok_ = false;
    error_ = absl::StrCat(field, " ", why);
  }

 private:
  template <typename T>
  T Fixed(const char* field) {
    if (!ok_) return 0;
    if (in_.size() < sizeof(T)) {
      Fail(field, "is cut short");
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    }
    in_.remove_prefix(sizeof(T));
    return static_cast<T>(v);
  }

  absl::string_view in_;
  bool ok_ = true;
  std::string error_;
};

void EncodeSpec(const AuctionSpec& s, Writer& w) {
  w.Str(s.title);
  w.Str(s.description);
  w.Str(s.category);
  w.U8(static_cast<uint8_t>(s.format));
  w.Str(s.currency);
  w.I64(s.quantity);
  w.I64(s.start_price_minor);
  w.I64(s.reserve_price_minor);
  w.I64(s.buy_now_price_minor);
  w.Time(s.starts_at);
  w.Time(s.ends_at);
  w.U8(s.soft_close.enabled ? 1 : 0);
  w.Duration(s.soft_close.window);
  w.Duration(s.soft_close.extension);
  w.Duration(s.soft_close.cap);
  w.I64(s.dutch.decrement_minor);
  w.Duration(s.dutch.tick_interval);
  w.I64(s.dutch.floor_price_minor);
  w.U32(static_cast<uint32_t>(s.increment_table.size()));
  for (const IncrementStep& step : s.increment_table) {
    w.I64(step.from_minor);
    w.I64(step.step_minor);
  }
}

void DecodeSpec(Reader& r, AuctionSpec* s) {
  s->title = r.Str("spec.title");
  s->description = r.Str("spec.description");
  s->category = r.Str("spec.category");
  const uint8_t format = r.U8("spec.format");
  if (format > static_cast<uint8_t>(Format::kDoubleCall)) r.Fail("spec.format", "is unknown");
  s->format = static_cast<Format>(format);
  s->currency = r.Str("spec.currency");
  s->quantity = r.I64("spec.quantity");
  s->start_price_minor = r.I64("spec.start_price_minor");
  s->reserve_price_minor = r.I64("spec.reserve_price_minor");
  s->buy_now_price_minor = r.I64("spec.buy_now_price_minor");
  s->starts_at = r.Time("spec.starts_at");
  s->ends_at = r.Time("spec.ends_at");
  s->soft_close.enabled = r.Bool("spec.soft_close.enabled");
  s->soft_close.window = r.Duration("spec.soft_close.window");
  s->soft_close.extension = r.Duration("spec.soft_close.extension");
  s->soft_close.cap = r.Duration("spec.soft_close.cap");
  s->dutch.decrement_minor = r.I64("spec.dutch.decrement_minor");
  s->dutch.tick_interval = r.Duration("spec.dutch.tick_interval");
  s->dutch.floor_price_minor = r.I64("spec.dutch.floor_price_minor");
  const uint32_t steps = r.U32("spec.increment_table");
  // Each step takes 16 bytes: a count the record cannot hold is corrupt.
  if (steps > 4096) r.Fail("spec.increment_table", "has too many steps");
  for (uint32_t i = 0; r.ok() && i < steps; ++i) {
    IncrementStep step;
    step.from_minor = r.I64("spec.increment_table.from_minor");
    step.step_minor = r.I64("spec.increment_table.step_minor");
    s->increment_table.push_back(step);
  }
}

}  // namespace

absl::string_view RecordTypeName(RecordType type) {
  switch (type) {
    case RecordType::kFileHeader: return "FileHeader";
    case RecordType::kCreateAuction: return "CreateAuction";
    case RecordType::kCancelAuction: return "CancelAuction";
    case RecordType::kPlaceBid: return "PlaceBid";
    case RecordType::kCancelBid: return "CancelBid";
    case RecordType::kCancelBidWithKey:
      return "CancelBidWithKey";
    case RecordType::kEndedAuctionKey:
      return "EndedAuctionKey";
    case RecordType::kMarkSettled: return "MarkSettled";
    case RecordType::kTimerFired: return "TimerFired";
    case RecordType::kCounters: return "Counters";
  }
  return "Unknown";
}

void EncodeRecord(const JournalRecord& r, std::string* out) {
  Writer w(out);
  w.U8(static_cast<uint8_t>(r.type));
  w.Time(r.time);
  w.U64(r.sequence_before);
  w.U64(r.sequence_after);
  switch (r.type) {
    case RecordType::kFileHeader:
      w.U32(kHeaderMagic);
      w.U16(kFormatVersion);
      w.U8(static_cast<uint8_t>(r.file_kind));
      w.U64(r.file_number);
      w.U32(r.shard_index);
      w.U32(r.shard_count);
      return;
    case RecordType::kCreateAuction:
      w.U64(r.auction_id);
      w.Str(r.principal_name);
      w.Str(r.key);
      EncodeSpec(r.spec, w);
      return;
    case RecordType::kCancelAuction:
      w.U64(r.auction_id);
      w.Str(r.principal_name);
      return;
    case RecordType::kPlaceBid:
      w.U64(r.auction_id);
      w.Str(r.principal_name);
      w.Str(r.key);
      w.I64(r.amount_minor);
      w.I64(r.quantity);
      w.U8(static_cast<uint8_t>(r.side));
      w.U8(r.immediate_or_cancel ? 1 : 0);
      return;
    case RecordType::kCancelBid:
    case RecordType::kCancelBidWithKey:
      w.U64(r.auction_id);
      w.Str(r.principal_name);
      w.U32(r.entry);
      if (r.type == RecordType::kCancelBidWithKey) w.Str(r.key);
      return;
    case RecordType::kMarkSettled:
      w.U64(r.auction_id);
      return;
    case RecordType::kEndedAuctionKey:
      w.U64(r.auction_id);
      w.Str(r.principal_name);
      w.Str(r.key);
      w.Time(r.settled_at);
      return;
    case RecordType::kTimerFired:
      w.U64(r.auction_id);
      w.U8(static_cast<uint8_t>(r.timer_kind));
      w.Time(r.timer_at);
      return;
    case RecordType::kCounters:
      w.U64(r.next_local_id);
      return;
  }
}

absl::StatusOr<JournalRecord> DecodeRecord(absl::string_view payload) {
  Reader rd(payload);
  JournalRecord r;
  const uint8_t type = rd.U8("type");
  if (rd.ok() && (type < static_cast<uint8_t>(RecordType::kFileHeader) ||
                  type > static_cast<uint8_t>(kLastRecordType))) {
    return absl::DataLossError(absl::StrCat("unknown record type ", type));
  }
  r.type = static_cast<RecordType>(type);
  r.time = rd.Time("time");
  r.sequence_before = rd.U64("sequence_before");
  r.sequence_after = rd.U64("sequence_after");
  switch (r.type) {
    case RecordType::kFileHeader: {
      if (rd.U32("magic") != kHeaderMagic) rd.Fail("magic", "is not a Gavel journal's");
      const uint16_t version = rd.U16("version");
      if (rd.ok() && version != kFormatVersion) {
        return absl::DataLossError(absl::StrCat("journal format version ", version,
                                                " is not supported (this build reads ",
                                                kFormatVersion, ")"));
      }
      const uint8_t kind = rd.U8("file_kind");
      if (kind != static_cast<uint8_t>(FileKind::kJournal) &&
          kind != static_cast<uint8_t>(FileKind::kSnapshot)) {
        rd.Fail("file_kind", "is unknown");
      }
      r.file_kind = static_cast<FileKind>(kind);
      r.file_number = rd.U64("file_number");
      r.shard_index = rd.U32("shard_index");
      r.shard_count = rd.U32("shard_count");
      break;
    }
    case RecordType::kCreateAuction:
      r.auction_id = rd.U64("auction_id");
      r.principal_name = rd.Str("seller");
      r.key = rd.Str("request_id");
      DecodeSpec(rd, &r.spec);
      break;
    case RecordType::kCancelAuction:
      r.auction_id = rd.U64("auction_id");
      r.principal_name = rd.Str("seller");
      break;
    case RecordType::kPlaceBid: {
      r.auction_id = rd.U64("auction_id");
      r.principal_name = rd.Str("bidder");
      r.key = rd.Str("client_bid_id");
      r.amount_minor = rd.I64("amount_minor");
      r.quantity = rd.I64("quantity");
      const uint8_t side = rd.U8("side");
      if (side > static_cast<uint8_t>(Side::kSell)) rd.Fail("side", "is unknown");
      r.side = static_cast<Side>(side);
      r.immediate_or_cancel = rd.Bool("immediate_or_cancel");
      break;
    }
    case RecordType::kCancelBid:
    case RecordType::kCancelBidWithKey:
      r.auction_id = rd.U64("auction_id");
      r.principal_name = rd.Str("owner");
      r.entry = rd.U32("entry");
      if (r.type == RecordType::kCancelBidWithKey) r.key = rd.Str("request_id");
      break;
    case RecordType::kMarkSettled:
      r.auction_id = rd.U64("auction_id");
      break;
    case RecordType::kEndedAuctionKey:
      r.auction_id = rd.U64("auction_id");
      r.principal_name = rd.Str("seller");
      r.key = rd.Str("request_id");
      r.settled_at = rd.Time("settled_at");
      break;
    case RecordType::kTimerFired: {
      r.auction_id = rd.U64("auction_id");
      const uint8_t kind = rd.U8("timer_kind");
      if (kind > static_cast<uint8_t>(TimerKind::kClose)) rd.Fail("timer_kind", "is unknown");
      r.timer_kind = static_cast<TimerKind>(kind);
      r.timer_at = rd.Time("timer_at");
      break;
    }
    case RecordType::kCounters:
      r.next_local_id = rd.U64("next_local_id");
      break;
  }
  if (!rd.ok()) {
    return absl::DataLossError(
        absl::StrCat(RecordTypeName(r.type), " record: ", rd.error()));
  }
  if (!rd.AtEnd()) {
    return absl::DataLossError(
        absl::StrCat(RecordTypeName(r.type), " record: trailing bytes after the last field"));
  }
  return r;
}

absl::Status PeekRecord(absl::string_view payload, RecordPeek* out) {
  Reader rd(payload);
  const uint8_t t = rd.U8("type");
  if (!rd.ok()) return absl::DataLossError("empty record");
  if (t < static_cast<uint8_t>(RecordType::kFileHeader) ||
      t > static_cast<uint8_t>(kLastRecordType)) {
    return absl::DataLossError(absl::StrCat("unknown record type ", t));
  }
  out->type = static_cast<RecordType>(t);
  out->time = rd.Time("time");
  rd.U64("sequence_before");
  out->sequence_after = rd.U64("sequence_after");
  out->auction_id = 0;
  if (out->type != RecordType::kFileHeader && out->type != RecordType::kCounters) {
    out->auction_id = rd.U64("auction_id");
  }
  if (!rd.ok()) {
    return absl::DataLossError(absl::StrCat(RecordTypeName(out->type), " record: ", rd.error()));
  }
  return absl::OkStatus();
}

bool SameRecord(const JournalRecord& a, const JournalRecord& b) {
  std::string x, y;
  EncodeRecord(a, &x);
  EncodeRecord(b, &y);
  return x == y;
}

}  // namespace gavel
