// Money is int64 minor units of an ISO 4217 currency; never floating point.
// Arithmetic on amounts goes through these checked helpers.
#ifndef GAVEL_ENGINE_MONEY_H_
#define GAVEL_ENGINE_MONEY_H_

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gavel {

// The largest amount any request may carry: 10^15 minor units (10 trillion
// EUR). Keeps every sum the rules form (price + increment) far from int64's
// limit, so the engine never has to refuse a bid for arithmetic reasons.
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;

// a + b, or false when it would overflow int64.
inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
// a * b, or false when it would overflow int64.
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
// a + b clamped to int64's range.
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (CheckedAdd(a, b, &r)) return r;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// Three upper-case ASCII letters (the shape of an ISO 4217 code).
bool IsCurrencyCode(absl::string_view currency);
// Decimal places of a currency's minor unit (ISO 4217): 0 for JPY, 3 for
// KWD, 4 for CLF, 2 for most; -1 when `currency` is not a currency code.
int CurrencyExponent(absl::string_view currency);
// Parses a decimal amount typed by a person ("12.50", "12.5", "12") into
// minor units of `currency`, exactly. InvalidArgument, with a message a
// person understands, for anything else: more decimals than the currency
// has, signs, separators, garbage, more than kMaxAmountMinor (the most any
// amount may be, which the server enforces too).
absl::StatusOr<int64_t> ParseAmount(absl::string_view text, absl::string_view currency);
// "12.50 EUR", "1250 JPY", "-0.05 EUR": exact, from integers only.
std::string FormatAmount(int64_t minor, absl::string_view currency);

}  // namespace gavel

#endif  // GAVEL_ENGINE_MONEY_H_
