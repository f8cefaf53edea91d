#include "clients/cli/values.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "engine/money.h"

namespace gavel::cli {
namespace {

// The range google.protobuf.Timestamp and Duration can carry.
constexpr absl::Time kEarliestTime = absl::FromUnixSeconds(-62'135'596'800);  // 0001-01-01
constexpr absl::Time kLatestTime = absl::FromUnixSeconds(253'402'300'799);    // 9999-12-31
constexpr absl::Duration kLongestDuration = absl::Seconds(315'576'000'000);   // 10000 years

// "SEALED_FIRST_PRICE" -> "sealed-first-price".
std::string Spell(const std::string& proto_name) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(proto_name), {{"_", "-"}});
}

// "Sealed_First-Price" -> "sealed-first-price".
std::string Normalize(absl::string_view text) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(absl::StripAsciiWhitespace(text)), {{"_", "-"}});
}

template <typename Enum>
absl::StatusOr<Enum> ParseName(absl::string_view what, absl::string_view text,
                               const std::vector<std::pair<std::string, Enum>>& names) {
  const std::string wanted = Normalize(text);
  std::vector<std::string> known;
  for (const auto& [name, value] : names) {
    if (name == wanted) return value;
    known.push_back(name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " \"", text, "\": use one of ", absl::StrJoin(known, ", ")));
}

std::string Unknown(int value) { return absl::StrCat("unknown(", value, ")"); }

}  // namespace

absl::StatusOr<absl::Duration> ParseFlagDuration(absl::string_view flag, absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(absl::StripAsciiWhitespace(text), &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " \"", text, "\" is not a duration: use e.g. 30s, 5m, 2h, 1h30m, 500ms"));
  }
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be longer than zero, not \"", text, "\""));
  }
  if (d > kLongestDuration) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " \"", text, "\" is too long"));
  }
  return d;
}

absl::StatusOr<absl::Time> ParseFlagTime(absl::string_view flag, absl::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(absl::StripAsciiWhitespace(text)), &t,
                       &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", text,
                     "\" is not an RFC 3339 time: use e.g. 2024-05-01T12:00:00Z or "
                     "2024-05-01T14:00:00+02:00"));
  }
  if (t < kEarliestTime || t > kLatestTime) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", text, "\" is outside the years 0001 to 9999"));
  }
  return t;
}

absl::StatusOr<int64_t> ParseFlagCount(absl::string_view flag, absl::string_view text,
                                       int64_t max) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || n < 1 || n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be a whole number from 1 to ", max, ", not \"", text, "\""));
  }
  return n;
}

absl::StatusOr<uint64_t> ParseFlagSequence(absl::string_view flag, absl::string_view text) {
  uint64_t n = 0;
  // SimpleAtoi accepts a leading '-' for unsigned types only to reject it; be explicit.
  if (absl::StartsWith(absl::StripAsciiWhitespace(text), "-") || !absl::SimpleAtoi(text, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be a sequence number (0 or more), not \"", text, "\""));
  }
  return n;
}

absl::StatusOr<v1::Format> ParseFormatName(absl::string_view text) {
  static const auto* const kNames = [] {
    auto* names = new std::vector<std::pair<std::string, v1::Format>>;
    for (int i = v1::Format_MIN; i <= v1::Format_MAX; ++i) {
      if (i == v1::FORMAT_UNSPECIFIED || !v1::Format_IsValid(i)) continue;
      names->emplace_back(Spell(v1::Format_Name(i)), static_cast<v1::Format>(i));
    }
    names->emplace_back("vickrey", v1::SEALED_SECOND_PRICE);
    return names;
  }();
  return ParseName("format", text, *kNames);
}

absl::StatusOr<v1::AuctionState> ParseStateName(absl::string_view text) {
  static const auto* const kNames = [] {
    auto* names = new std::vector<std::pair<std::string, v1::AuctionState>>;
    for (int i = v1::AuctionState_MIN; i <= v1::AuctionState_MAX; ++i) {
      if (i == v1::AUCTION_STATE_UNSPECIFIED || !v1::AuctionState_IsValid(i)) continue;
      names->emplace_back(Spell(v1::AuctionState_Name(i)), static_cast<v1::AuctionState>(i));
    }
    return names;
  }();
  return ParseName("state", text, *kNames);
}

absl::StatusOr<v1::SettlementOutcome> ParseOutcomeName(absl::string_view text) {
  static const auto* const kNames = [] {
    auto* names = new std::vector<std::pair<std::string, v1::SettlementOutcome>>;
    for (int i = v1::SettlementOutcome_MIN; i <= v1::SettlementOutcome_MAX; ++i) {
      if (i == v1::SETTLEMENT_OUTCOME_UNSPECIFIED || !v1::SettlementOutcome_IsValid(i)) continue;
      const auto outcome = static_cast<v1::SettlementOutcome>(i);
      names->emplace_back(OutcomeName(outcome), outcome);
    }
    return names;
  }();
  return ParseName("outcome", text, *kNames);
}

absl::StatusOr<v1::Side> ParseSideName(absl::string_view text) {
  static const auto* const kNames =
      new std::vector<std::pair<std::string, v1::Side>>{{"buy", v1::BUY}, {"sell", v1::SELL}};
  return ParseName("side", text, *kNames);
}

absl::StatusOr<v1::SoftClose> ParseSoftClose(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("--soft-close \"", text, "\" must be WINDOW,EXTENSION,CAP, like 30s,30s,5m"));
  }
  absl::StatusOr<absl::Duration> window = ParseFlagDuration("--soft-close WINDOW", parts[0]);
  if (!window.ok()) return window.status();
  absl::StatusOr<absl::Duration> extension = ParseFlagDuration("--soft-close EXTENSION", parts[1]);
  if (!extension.ok()) return extension.status();
  absl::StatusOr<absl::Duration> cap = ParseFlagDuration("--soft-close CAP", parts[2]);
  if (!cap.ok()) return cap.status();
  v1::SoftClose soft_close;
  *soft_close.mutable_window() = ToProtoDuration(*window);
  *soft_close.mutable_extension() = ToProtoDuration(*extension);
  *soft_close.mutable_cap() = ToProtoDuration(*cap);
  return soft_close;
}

absl::StatusOr<std::vector<v1::IncrementStep>> ParseIncrementTable(absl::string_view text,
                                                                   const std::string& currency) {
  std::vector<v1::IncrementStep> steps;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    const std::vector<absl::string_view> parts = absl::StrSplit(item, ':');
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--increment: \"", item, "\" must be FROM:STEP, like --increment 0:0.50,100:1.00"));
    }
    absl::StatusOr<int64_t> from = gavel::ParseAmount(std::string(parts[0]), currency);
    if (!from.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--increment FROM: ", from.status().message()));
    }
    absl::StatusOr<int64_t> step = gavel::ParseAmount(std::string(parts[1]), currency);
    if (!step.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--increment STEP: ", step.status().message()));
    }
    v1::IncrementStep& s = steps.emplace_back();
    s.set_from_minor(*from);
    s.set_step_minor(*step);
  }
  return steps;
}

std::string FormatName(v1::Format format) {
  if (!v1::Format_IsValid(format)) return Unknown(format);
  return Spell(v1::Format_Name(format));
}

std::string StateName(v1::AuctionState state) {
  if (!v1::AuctionState_IsValid(state)) return Unknown(state);
  return Spell(v1::AuctionState_Name(state));
}

std::string OutcomeName(v1::SettlementOutcome outcome) {
  // The proto says CANCELLED_BY_SELLER only because enum values share a scope.
  if (outcome == v1::CANCELLED_BY_SELLER) return "cancelled";
  if (!v1::SettlementOutcome_IsValid(outcome)) return Unknown(outcome);
  return Spell(v1::SettlementOutcome_Name(outcome));
}

std::string SideName(v1::Side side) {
  switch (side) {
    case v1::BUY:
      return "buy";
    case v1::SELL:
      return "sell";
    case v1::SIDE_UNSPECIFIED:
      return "";
    default:
      return Unknown(side);
  }
}

std::string RejectReasonName(v1::RejectReason reason) {
  if (!v1::RejectReason_IsValid(reason)) return Unknown(reason);
  return v1::RejectReason_Name(reason);
}

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC and Abseil number their codes alike (both are google.rpc.Code).
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  if (name.empty()) return absl::StrCat("CODE_", static_cast<int>(code));
  return name;
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(t);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return out;
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(t), absl::UTCTimeZone());
}

std::string FormatClock(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%H:%M:%S", FromProtoTime(t), absl::UTCTimeZone());
}

std::string FormatDuration(const google::protobuf::Duration& d) {
  return absl::FormatDuration(FromProtoDuration(d));
}

}  // namespace gavel::cli
