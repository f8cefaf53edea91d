#include "engine/money.h"

#include <array>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gavel {
namespace {


bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string DecimalPlaces(absl::string_view currency, int exponent) {
  if (exponent == 0) return absl::StrCat(currency, " has no decimal places");
  return absl::StrCat(currency, " has ", exponent,
                      exponent == 1 ? " decimal place" : " decimal places");
}

// "12.50" for a 2-decimal currency, "12" for JPY: how an amount is written.
std::string Example(int exponent) {
  if (exponent == 0) return "12";
  return absl::StrCat("12.5", std::string(exponent - 1, '0'));
}

// The number part of FormatAmount: digits, and a decimal point when exponent > 0.
std::string FormatDecimal(int64_t minor, int exponent) {
  const bool negative = minor < 0;
  // uint64 gives INT64_MIN a magnitude.
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  uint64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  std::string out = negative ? "-" : "";
  absl::StrAppend(&out, magnitude / scale);
  if (exponent > 0) {
    const std::string frac = absl::StrCat(magnitude % scale);
    out += '.';
    out.append(exponent - frac.size(), '0');
    out += frac;
  }
  return out;
}

}  // namespace

bool IsCurrencyCode(absl::string_view currency) {
  if (currency.size() != 3) return false;
  for (char c : currency) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

int CurrencyExponent(absl::string_view currency) {
  static constexpr std::array<absl::string_view, 17> kZero = {
      "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
      "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::array<absl::string_view, 7> kThree = {"BHD", "IQD", "JOD", "KWD",
                                                             "LYD", "OMR", "TND"};
  // Units of account with four: the Chilean Unidad de Fomento and Uruguay's
  // Unidad Previsional.
  static constexpr std::array<absl::string_view, 2> kFour = {"CLF", "UYW"};
  if (!IsCurrencyCode(currency)) return -1;
  for (absl::string_view c : kZero) {
    if (c == currency) return 0;
  }
  for (absl::string_view c : kThree) {
    if (c == currency) return 3;
  }
  for (absl::string_view c : kFour) {
    if (c == currency) return 4;
  }
  return 2;
}

absl::StatusOr<int64_t> ParseAmount(absl::string_view text_arg, absl::string_view currency_arg) {
  absl::string_view text = text_arg;
  const absl::string_view currency = currency_arg;
  const int exponent = CurrencyExponent(currency_arg);
  if (exponent < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("currency \"", currency,
                     "\" is not an ISO 4217 code (three upper-case letters, like EUR)"));
  }
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the amount is empty: write it like ", Example(exponent), " ", currency));
  }
  const std::string shown = absl::StrCat(text, " ", currency);
  if (absl::StrContains(text, ',')) {
    return absl::InvalidArgumentError(absl::StrCat(
        shown,
        ": leave out thousands separators, and use '.' as the decimal point (like 1234.50)"));
  }
  absl::string_view number = text;
  const char sign = (number[0] == '-' || number[0] == '+') ? number[0] : '\0';
  if (sign != '\0') number.remove_prefix(1);

  const size_t dot = number.find('.');
  const absl::string_view whole = number.substr(0, dot);
  const absl::string_view frac =
      dot == absl::string_view::npos ? absl::string_view() : number.substr(dot + 1);
  const bool digits_only = AllDigits(whole) && AllDigits(frac);  // a second '.' fails here
  if (!digits_only || (whole.empty() && frac.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not an amount in ", currency,
                     ": use digits and an optional decimal point, like ", Example(exponent)));
  }
  if (sign == '-')
    return absl::InvalidArgumentError(absl::StrCat(shown, ": amounts cannot be negative"));
  if (sign == '+')
    return absl::InvalidArgumentError(absl::StrCat(shown, ": write the amount without a sign"));
  if (whole.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(shown, ": write a digit before the decimal point (0", number, ")"));
  }
  if (dot != absl::string_view::npos && frac.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(shown, ": write digits after the decimal point, or no decimal point"));
  }
  if (frac.size() > static_cast<size_t>(exponent)) {
    return absl::InvalidArgumentError(absl::StrCat(shown, ": ", DecimalPlaces(currency, exponent)));
  }

  int64_t value = 0;
  bool overflow = false;
  auto push_digit = [&](int digit) {
    overflow = overflow || __builtin_mul_overflow(value, int64_t{10}, &value) ||
               __builtin_add_overflow(value, int64_t{digit}, &value);
  };
  for (char c : whole) push_digit(c - '0');
  for (int i = 0; i < exponent; ++i) {
    push_digit(static_cast<size_t>(i) < frac.size() ? frac[i] - '0' : 0);
  }
  if (overflow || value > kMaxAmountMinor) {
    return absl::InvalidArgumentError(absl::StrCat(shown,
                                                   " is too large: the most an amount may be is ",
                                                   FormatAmount(kMaxAmountMinor, currency_arg)));
  }
  return value;
}

std::string FormatAmount(int64_t minor, absl::string_view currency) {
  const int exponent = CurrencyExponent(currency);
  if (exponent < 0) return absl::StrCat(minor, " minor units");
  return absl::StrCat(FormatDecimal(minor, exponent), " ", currency);
}

}  // namespace gavel
