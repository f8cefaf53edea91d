// clients/money.h: exact decimal <-> minor units, table-driven.
#include "engine/money.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gavel::client {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// The number part of FormatAmount's output: "12.50 EUR" -> "12.50".
std::string NumberPart(const std::string& formatted) {
  return formatted.substr(0, formatted.find(' '));
}

TEST(Money, CurrencyExponentFollowsIso4217) {
  struct Case {
    const char* currency;
    int exponent;
  };
  const std::vector<Case> cases = {
      {"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"CLP", 0}, {"VND", 0}, {"XAF", 0}, {"XOF", 0},
      {"UGX", 0}, {"PYG", 0}, {"BIF", 0}, {"DJF", 0}, {"GNF", 0}, {"KMF", 0}, {"RWF", 0},
      {"UYI", 0}, {"VUV", 0}, {"XPF", 0}, {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3},
      {"LYD", 3}, {"OMR", 3}, {"TND", 3}, {"CLF", 4}, {"UYW", 4}, {"EUR", 2}, {"USD", 2},
      {"GBP", 2}, {"CHF", 2}, {"XYZ", 2},  // well-formed but unassigned:
                                           // the common case, 2
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CurrencyExponent(c.currency), c.exponent) << c.currency;
  }
}

TEST(Money, CurrencyExponentRejectsMalformedCodes) {
  for (const char* bad : {"", "EU", "EURO", "eur", "Eur", "E1R", "EU ", " EUR", "ÉUR"}) {
    EXPECT_EQ(CurrencyExponent(bad), -1) << '"' << bad << '"';
    EXPECT_FALSE(IsCurrencyCode(bad)) << '"' << bad << '"';
  }
  EXPECT_TRUE(IsCurrencyCode("EUR"));
}

TEST(Money, ParseAmountAcceptsPlainDecimals) {
  struct Case {
    const char* text;
    const char* currency;
    int64_t minor;
  };
  const std::vector<Case> cases = {
      {"12.50", "EUR", 1250},
      {"12.5", "EUR", 1250},
      {"12", "EUR", 1200},
      {"0.05", "EUR", 5},
      {"0", "EUR", 0},
      {"0.00", "EUR", 0},
      {"007.50", "EUR", 750},
      {" 12.50 ", "EUR", 1250},
      {"\t3\n", "EUR", 300},
      {"1250", "JPY", 1250},
      {"0", "JPY", 0},
      {"1.250", "KWD", 1250},
      {"1.25", "KWD", 1250},
      {"1", "KWD", 1000},
      {"0.001", "BHD", 1},
      {"1.2345", "CLF", 12345},
      {"1", "UYW", 10000},
      {"0000000000000000000000012.50", "EUR", 1250},  // leading zeros never overflow
  };
  for (const Case& c : cases) {
    absl::StatusOr<int64_t> got = ParseAmount(c.text, c.currency);
    ASSERT_TRUE(got.ok()) << c.text << " " << c.currency << ": " << got.status();
    EXPECT_EQ(*got, c.minor) << c.text << " " << c.currency;
  }
}

TEST(Money, ParseAmountRejectsTooManyDecimals) {
  struct Case {
    const char* text;
    const char* currency;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"12.505", "EUR", "12.505 EUR: EUR has 2 decimal places"},
      {"12.500", "EUR", "12.500 EUR: EUR has 2 decimal places"},
      {"12.5", "JPY", "12.5 JPY: JPY has no decimal places"},
      {"1250.00", "JPY", "1250.00 JPY: JPY has no decimal places"},
      {"1.2345", "KWD", "1.2345 KWD: KWD has 3 decimal places"},
      {"1.23456", "CLF", "1.23456 CLF: CLF has 4 decimal places"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<int64_t> got = ParseAmount(c.text, c.currency);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.message);
  }
}

TEST(Money, ParseAmountRejectsThousandsSeparators) {
  for (const char* text : {"1,234.50", "1,234", "12,50"}) {
    absl::StatusOr<int64_t> got = ParseAmount(text, "EUR");
    ASSERT_FALSE(got.ok()) << text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr("thousands separators"));
    EXPECT_THAT(got.status().message(), HasSubstr(text));
  }
}

TEST(Money, ParseAmountRejectsNegative) {
  for (const char* text : {"-5", "-0.05", "-0"}) {
    absl::StatusOr<int64_t> got = ParseAmount(text, "EUR");
    ASSERT_FALSE(got.ok()) << text;
    EXPECT_EQ(got.status().message(), std::string(text) + " EUR: amounts cannot be negative");
  }
}

TEST(Money, ParseAmountRejectsPlusSign) {
  absl::StatusOr<int64_t> got = ParseAmount("+5", "EUR");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "+5 EUR: write the amount without a sign");
}

TEST(Money, ParseAmountRejectsEmpty) {
  for (const char* text : {"", "   "}) {
    absl::StatusOr<int64_t> got = ParseAmount(text, "EUR");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), "the amount is empty: write it like 12.50 EUR");
  }
  EXPECT_EQ(ParseAmount("", "JPY").status().message(), "the amount is empty: write it like 12 JPY");
}

TEST(Money, ParseAmountRejectsGarbage) {
  for (const char* text :
       {"abc", "12a", "1e3", "12.5.0", ".", "0x10", "12 50", "12.-5", "--5", "-", "+", "1_000",
        "\xd9\xa1\xd9\xa2" /* Arabic-Indic 12 */, "12€", "NaN", "inf"}) {
    absl::StatusOr<int64_t> got = ParseAmount(text, "EUR");
    ASSERT_FALSE(got.ok()) << text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(
        got.status().message(),
        "\"" + std::string(text) +
            "\" is not an amount in EUR: use digits and an optional decimal point, like 12.50")
        << text;
  }
}

TEST(Money, ParseAmountExplainsBareDecimalPoint) {
  EXPECT_EQ(ParseAmount(".5", "EUR").status().message(),
            ".5 EUR: write a digit before the decimal point (0.5)");
  EXPECT_EQ(ParseAmount("12.", "EUR").status().message(),
            "12. EUR: write digits after the decimal point, or no decimal point");
}

TEST(Money, ParseAmountRejectsMalformedCurrency) {
  for (const char* currency : {"", "eur", "EURO"}) {
    absl::StatusOr<int64_t> got = ParseAmount("12.50", currency);
    ASSERT_FALSE(got.ok()) << currency;
    EXPECT_THAT(got.status().message(), HasSubstr("is not an ISO 4217 code"));
  }
}

// The most an amount may be is kMaxAmountMinor (10^15 minor units), as the
// server holds it: more is refused here with that limit, int64 overflow
// included.
TEST(Money, ParseAmountAcceptsTheLargestAmount) {
  EXPECT_EQ(*ParseAmount("10000000000000.00", "EUR"), kMaxAmountMinor);
  EXPECT_EQ(*ParseAmount("1000000000000000", "JPY"), kMaxAmountMinor);
  EXPECT_EQ(*ParseAmount("1000000000000.000", "KWD"), kMaxAmountMinor);
  EXPECT_EQ(*ParseAmount("9999999999999.99", "EUR"), kMaxAmountMinor - 1);
}

TEST(Money, ParseAmountRefusesMoreThanTheLargestAmount) {
  struct Case {
    const char* text;
    const char* currency;
  };
  const std::vector<Case> cases = {
      {"10000000000000.01", "EUR"},  // one minor unit more
      {"1000000000000001", "JPY"},           {"1000000000000.001", "KWD"},
      {"92233720368547758.08", "EUR"},  // INT64_MAX + 1 minor units
      {"92233720368547759", "EUR"},     // overflows only once scaled by 100
      {"9223372036854775808", "JPY"},        {"9223372036854775.808", "KWD"},
      {"99999999999999999999999999", "EUR"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<int64_t> got = ParseAmount(c.text, c.currency);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), std::string(c.text) + " " + c.currency +
                                          " is too large: the most an amount may be is " +
                                          FormatAmount(kMaxAmountMinor, c.currency));
  }
}

TEST(Money, FormatAmountIsExact) {
  struct Case {
    int64_t minor;
    const char* currency;
    const char* text;
  };
  const std::vector<Case> cases = {
      {1250, "EUR", "12.50 EUR"},
      {1250, "JPY", "1250 JPY"},
      {-5, "EUR", "-0.05 EUR"},
      {5, "EUR", "0.05 EUR"},
      {0, "EUR", "0.00 EUR"},
      {0, "JPY", "0 JPY"},
      {-1250, "JPY", "-1250 JPY"},
      {1250, "KWD", "1.250 KWD"},
      {-1, "KWD", "-0.001 KWD"},
      {100, "USD", "1.00 USD"},
      {kMax, "EUR", "92233720368547758.07 EUR"},
      {kMin, "EUR", "-92233720368547758.08 EUR"},
      {kMax, "JPY", "9223372036854775807 JPY"},
      {kMin, "JPY", "-9223372036854775808 JPY"},
      {kMax, "KWD", "9223372036854775.807 KWD"},
      {12345, "CLF", "1.2345 CLF"},
      {-1, "UYW", "-0.0001 UYW"},
      {1250, "", "1250 minor units"},
      {1250, "eur", "1250 minor units"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatAmount(c.minor, c.currency), c.text) << c.minor << " " << c.currency;
  }
}

// Every amount up to the largest parses back from its text.
TEST(Money, ParseAmountRoundTripsFormatAmountForEveryExponent) {
  constexpr int64_t kMost = kMaxAmountMinor;
  std::vector<int64_t> values = {0,      1,     9,         10,         11,          99,
                                 100,    101,   999,       1000,       1001,        12345,
                                 999999, kMost, kMost - 1, kMost / 10, kMost / 100, kMost / 1000};
  for (int64_t p = 1; p <= kMost; p *= 10) {
    values.push_back(p);
    values.push_back(p - 1);
    if (p < kMost) values.push_back(p + 1);
  }
  for (int64_t v = 0, step = 1; v < kMost - step; v += step, step = step * 2 + 7) {
    values.push_back(v);
  }
  for (const char* currency : {"JPY", "EUR", "KWD", "CLF"}) {
    for (int64_t v : values) {
      const std::string text = NumberPart(FormatAmount(v, currency));
      absl::StatusOr<int64_t> back = ParseAmount(text, currency);
      ASSERT_TRUE(back.ok()) << text << " " << currency << ": " << back.status();
      EXPECT_EQ(*back, v) << text << " " << currency;
    }
  }
}

TEST(Money, FormatAmountRoundTripsShortFormsToCanonicalText) {
  // Parsing accepts fewer decimals; formatting always shows all of them.
  EXPECT_EQ(FormatAmount(*ParseAmount("12.5", "EUR"), "EUR"), "12.50 EUR");
  EXPECT_EQ(FormatAmount(*ParseAmount("12", "EUR"), "EUR"), "12.00 EUR");
  EXPECT_EQ(FormatAmount(*ParseAmount("1.2", "KWD"), "KWD"), "1.200 KWD");
  EXPECT_EQ(FormatAmount(*ParseAmount("0012", "JPY"), "JPY"), "12 JPY");
}

}  // namespace
}  // namespace gavel::client
