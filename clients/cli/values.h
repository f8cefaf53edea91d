// How the `gavel` command line spells things: parsing flag values (durations,
// times, counts, enum names, soft close, increment tables) and printing enum
// names, times and durations for people.
#ifndef GAVEL_CLIENTS_CLI_VALUES_H_
#define GAVEL_CLIENTS_CLI_VALUES_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gavel/v1/gavel.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"

namespace gavel::cli {

// Parsers. `flag` names the flag in error messages ("--duration"). Every
// failure is InvalidArgument with a message that shows an accepted example.

// A positive, finite duration: "30s", "5m", "2h", "1h30m", "500ms"
// (absl::ParseDuration syntax).
absl::StatusOr<absl::Duration> ParseFlagDuration(absl::string_view flag, absl::string_view text);
// An RFC 3339 time: "2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00".
absl::StatusOr<absl::Time> ParseFlagTime(absl::string_view flag, absl::string_view text);
// A whole number in [1, max].
absl::StatusOr<int64_t> ParseFlagCount(absl::string_view flag, absl::string_view text,
                                       int64_t max = std::numeric_limits<int64_t>::max());
// A whole number in [0, UINT64_MAX] (sequence numbers).
absl::StatusOr<uint64_t> ParseFlagSequence(absl::string_view flag, absl::string_view text);

// Names are case-insensitive and take '-' or '_' between words.
// english, dutch, sealed-first-price, sealed-second-price (or vickrey),
// multi-unit-uniform, multi-unit-pay-as-bid, reverse-english, reverse-sealed,
// double-continuous, double-call.
absl::StatusOr<v1::Format> ParseFormatName(absl::string_view text);
// scheduled, open, closed, settled, cancelled.
absl::StatusOr<v1::AuctionState> ParseStateName(absl::string_view text);
// sold, unsold-no-bids, unsold-reserve-not-met, cancelled.
absl::StatusOr<v1::SettlementOutcome> ParseOutcomeName(absl::string_view text);
// buy, sell.
absl::StatusOr<v1::Side> ParseSideName(absl::string_view text);

// "WINDOW,EXTENSION,CAP", e.g. "30s,30s,5m"; each a positive duration.
absl::StatusOr<v1::SoftClose> ParseSoftClose(absl::string_view text);
// "FROM:STEP,FROM:STEP...", amounts in `currency`, e.g. "0:0.50,100:1.00".
absl::StatusOr<std::vector<v1::IncrementStep>> ParseIncrementTable(absl::string_view text,
                                                                   const std::string& currency);

// Display names: lower-case words joined by '-', the same spelling the
// parsers accept ("sealed-first-price", "open", "unsold-no-bids"). A value
// this build does not know prints as "unknown(<number>)".
std::string FormatName(v1::Format format);
std::string StateName(v1::AuctionState state);
std::string OutcomeName(v1::SettlementOutcome outcome);
std::string SideName(v1::Side side);  // "buy", "sell"; "" for one-sided bids
// Upper-case as in the proto: "BID_TOO_LOW".
std::string RejectReasonName(v1::RejectReason reason);
// "NOT_FOUND", "UNAVAILABLE", ...
std::string StatusCodeName(grpc::StatusCode code);

// Times and durations.
google::protobuf::Timestamp ToProtoTime(absl::Time t);
google::protobuf::Duration ToProtoDuration(absl::Duration d);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);
// UTC RFC 3339 to the second, "2024-05-01T09:14:03Z"; "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& t);
// UTC "09:14:03"; "-" when unset.
std::string FormatClock(const google::protobuf::Timestamp& t);
// "30s", "5m", "1h30m", "500ms".
std::string FormatDuration(const google::protobuf::Duration& d);

}  // namespace gavel::cli

#endif  // GAVEL_CLIENTS_CLI_VALUES_H_
