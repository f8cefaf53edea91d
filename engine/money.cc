#include "engine/money.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace gavel {

int CurrencyExponent(absl::string_view currency) {
  static constexpr std::array<absl::string_view, 17> kZero = {
      "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
      "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::array<absl::string_view, 7> kThree = {"BHD", "IQD", "JOD", "KWD",
                                                             "LYD", "OMR", "TND"};
  for (absl::string_view c : kZero) {
    if (c == currency) return 0;
  }
  for (absl::string_view c : kThree) {
    if (c == currency) return 3;
  }
  return 2;
}

std::string FormatAmount(int64_t minor, absl::string_view currency) {
  const int exponent = CurrencyExponent(currency);
  const bool negative = minor < 0;
  // Work in uint64 so that INT64_MIN has a magnitude.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  uint64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  std::string out = negative ? "-" : "";
  absl::StrAppend(&out, magnitude / scale);
  if (exponent > 0) {
    std::string frac = absl::StrCat(magnitude % scale);
    out += '.';
    out.append(exponent - frac.size(), '0');
    out += frac;
  }
  absl::StrAppend(&out, " ", currency);
  return out;
}

}  // namespace gavel
