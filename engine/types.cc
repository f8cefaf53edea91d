#include "engine/types.h"

#include <array>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gavel {
namespace {

constexpr std::array<absl::string_view, 11> kFormatNames = {
    "FORMAT_UNSPECIFIED", "ENGLISH",         "DUTCH",
    "SEALED_FIRST_PRICE", "SEALED_SECOND_PRICE", "MULTI_UNIT_UNIFORM",
    "MULTI_UNIT_PAY_AS_BID", "REVERSE_ENGLISH", "REVERSE_SEALED",
    "DOUBLE_CONTINUOUS",  "DOUBLE_CALL"};
constexpr std::array<absl::string_view, 6> kStateNames = {
    "AUCTION_STATE_UNSPECIFIED", "SCHEDULED", "OPEN", "CLOSED", "SETTLED", "CANCELLED"};
constexpr std::array<absl::string_view, 9> kRejectNames = {
    "ACCEPTED",          "BID_TOO_LOW",        "AUCTION_NOT_OPEN",
    "AUCTION_CLOSED",    "SELF_BID",           "QUANTITY_UNAVAILABLE",
    "CURRENCY_MISMATCH", "BID_NOT_IMPROVING",  "AMOUNT_OVERFLOW"};
constexpr std::array<absl::string_view, 5> kOutcomeNames = {
    "SETTLEMENT_OUTCOME_UNSPECIFIED", "SOLD", "UNSOLD_NO_BIDS", "UNSOLD_RESERVE_NOT_MET",
    "CANCELLED"};

template <size_t N>
absl::string_view NameAt(const std::array<absl::string_view, N>& names, size_t i) {
  return i < N ? names[i] : absl::string_view("UNKNOWN");
}

}  // namespace

absl::string_view FormatName(Format f) { return NameAt(kFormatNames, static_cast<size_t>(f)); }
absl::string_view StateName(AuctionState s) { return NameAt(kStateNames, static_cast<size_t>(s)); }
absl::string_view RejectReasonName(RejectReason r) {
  return NameAt(kRejectNames, static_cast<size_t>(r));
}
absl::string_view OutcomeName(SettlementOutcome o) {
  return NameAt(kOutcomeNames, static_cast<size_t>(o));
}
absl::string_view SideName(Side s) {
  switch (s) {
    case Side::kBuy: return "BUY";
    case Side::kSell: return "SELL";
    case Side::kNone: break;
  }
  return "NONE";
}

absl::StatusOr<Format> ParseFormatName(absl::string_view name) {
  for (size_t i = 1; i < kFormatNames.size(); ++i) {
    if (kFormatNames[i] == name) return static_cast<Format>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown format ", QuoteClientText(name)));
}

absl::StatusOr<SettlementOutcome> ParseOutcomeName(absl::string_view name) {
  for (size_t i = 1; i < kOutcomeNames.size(); ++i) {
    if (kOutcomeNames[i] == name) return static_cast<SettlementOutcome>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown outcome ", QuoteClientText(name)));
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status NotApplicable(absl::string_view field, Format format, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": does not apply to ", FormatName(format), "; ", why));
}

std::string QuoteClientText(absl::string_view text) {
  if (text.size() <= kQuotedBytes) return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kQuotedBytes)), "\"... (", text.size(),
                      " bytes)");
}

std::string FormatAuctionId(AuctionId id) { return absl::StrCat("A", id); }

namespace {

// A number as FormatAuctionId and FormatBidId write it: decimal digits only,
// no sign, space or leading zero, so that each id has one spelling.
template <typename T>
bool ParseCanonicalNumber(absl::string_view digits, T* out) {
  if (digits.empty() || (digits[0] == '0' && digits.size() > 1)) return false;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(digits, out);
}

}  // namespace

absl::StatusOr<AuctionId> ParseAuctionId(absl::string_view text) {
  AuctionId id = 0;
  if (text.size() < 2 || text[0] != 'A' || !ParseCanonicalNumber(text.substr(1), &id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("auction_id: ", QuoteClientText(text), " is not an auction id (like A17)"));
  }
  return id;
}

std::string FormatBidId(AuctionId id, uint32_t entry) {
  // Written by hand: it runs on the shard thread for every answer (its bid
  // id, and a bid id per fill), and absl::StrCat's general path measured a
  // third of the order book's instructions per order when trades were named
  // by bid id (BENCHMARKS.md, "Double auction").
  char buf[1 + 20 + 1 + 10];
  char* const end = buf + sizeof buf;
  char* p = end;  // written backwards, digits last to first
  do {
    *--p = static_cast<char>('0' + entry % 10);
    entry /= 10;
  } while (entry != 0);
  *--p = '-';
  do {
    *--p = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id != 0);
  *--p = 'A';
  return std::string(p, end);
}

absl::Status ParseBidId(absl::string_view text, absl::string_view field, AuctionId* id,
                        uint32_t* entry) {
  const size_t dash = text.find('-');
  absl::StatusOr<AuctionId> auction =
      dash == absl::string_view::npos ? absl::InvalidArgumentError("") : ParseAuctionId(text.substr(0, dash));
  if (!auction.ok() || !ParseCanonicalNumber(text.substr(dash + 1), entry) || *entry == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteClientText(text), " is not a bid id (like A17-3)"));
  }
  *id = *auction;
  return absl::OkStatus();
}

}  // namespace gavel
