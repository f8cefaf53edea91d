// clients/cli/values.h: flag value parsers and display names.
#include "clients/cli/values.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gavel::cli {
namespace {

using ::testing::HasSubstr;

TEST(Values, ParseFlagDurationAcceptsCommonForms) {
  struct Case {
    const char* text;
    absl::Duration want;
  };
  const std::vector<Case> cases = {
      {"30s", absl::Seconds(30)},
      {"5m", absl::Minutes(5)},
      {"2h", absl::Hours(2)},
      {"1h30m", absl::Minutes(90)},
      {"500ms", absl::Milliseconds(500)},
      {"1.5s", absl::Milliseconds(1500)},
  };
  for (const Case& c : cases) {
    absl::StatusOr<absl::Duration> d = ParseFlagDuration("--duration", c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(Values, ParseFlagDurationRejectsMissingUnitsAndNonPositive) {
  for (const char* text : {"30", "2d", "abc", "", "1h 30m"}) {
    absl::StatusOr<absl::Duration> d = ParseFlagDuration("--duration", text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().message(), "--duration \"" + std::string(text) +
                                        "\" is not a duration: use e.g. 30s, 5m, 2h, 1h30m, 500ms");
  }
  for (const char* text : {"0s", "0", "-5s"}) {
    absl::StatusOr<absl::Duration> d = ParseFlagDuration("--tick", text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_THAT(d.status().message(), HasSubstr("--tick must be longer than zero"));
  }
  EXPECT_FALSE(ParseFlagDuration("--tick", "inf").ok());
}

TEST(Values, ParseFlagTimeAcceptsRfc3339) {
  const absl::Time want = absl::FromUnixSeconds(1714564800);  // 2024-05-01T12:00:00Z
  EXPECT_EQ(*ParseFlagTime("--ends-at", "2024-05-01T12:00:00Z"), want);
  EXPECT_EQ(*ParseFlagTime("--ends-at", "2024-05-01T14:00:00+02:00"), want);
  EXPECT_EQ(*ParseFlagTime("--ends-at", "2024-05-01T12:00:00.250Z"),
            want + absl::Milliseconds(250));
}

TEST(Values, ParseFlagTimeRejectsOtherForms) {
  for (const char* text : {"2024-05-01 12:00:00", "2024-05-01", "12:00", "tomorrow", ""}) {
    absl::StatusOr<absl::Time> t = ParseFlagTime("--after", text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_THAT(t.status().message(), HasSubstr("is not an RFC 3339 time"));
  }
}

TEST(Values, ParseFlagCountAcceptsOnlyPositiveWholeNumbers) {
  EXPECT_EQ(*ParseFlagCount("--quantity", "3"), 3);
  EXPECT_EQ(*ParseFlagCount("--page-size", "500", 500), 500);
  for (const char* text : {"0", "-1", "1.5", "x", "", "99999999999999999999"}) {
    EXPECT_FALSE(ParseFlagCount("--quantity", text).ok()) << text;
  }
  EXPECT_EQ(ParseFlagCount("--page-size", "501", 500).status().message(),
            "--page-size must be a whole number from 1 to 500, not \"501\"");
}

TEST(Values, ParseFlagSequenceAcceptsZeroAndRejectsNegatives) {
  EXPECT_EQ(*ParseFlagSequence("--from", "0"), 0u);
  EXPECT_EQ(*ParseFlagSequence("--from", "18446744073709551615"), 18446744073709551615u);
  EXPECT_FALSE(ParseFlagSequence("--from", "-1").ok());
  EXPECT_FALSE(ParseFlagSequence("--from", "x").ok());
}

TEST(Values, ParseFormatNameAcceptsEverySpelling) {
  struct Case {
    const char* text;
    v1::Format want;
  };
  const std::vector<Case> cases = {
      {"english", v1::ENGLISH},
      {"ENGLISH", v1::ENGLISH},
      {"dutch", v1::DUTCH},
      {"sealed-first-price", v1::SEALED_FIRST_PRICE},
      {"SEALED_FIRST_PRICE", v1::SEALED_FIRST_PRICE},
      {"Sealed_First-Price", v1::SEALED_FIRST_PRICE},
      {"sealed-second-price", v1::SEALED_SECOND_PRICE},
      {"vickrey", v1::SEALED_SECOND_PRICE},
      {"Vickrey", v1::SEALED_SECOND_PRICE},
      {"multi-unit-uniform", v1::MULTI_UNIT_UNIFORM},
      {"multi-unit-pay-as-bid", v1::MULTI_UNIT_PAY_AS_BID},
      {"reverse-english", v1::REVERSE_ENGLISH},
      {"reverse-sealed", v1::REVERSE_SEALED},
      {"double-continuous", v1::DOUBLE_CONTINUOUS},
      {"double_call", v1::DOUBLE_CALL},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Format> f = ParseFormatName(c.text);
    ASSERT_TRUE(f.ok()) << c.text << ": " << f.status();
    EXPECT_EQ(*f, c.want) << c.text;
  }
}

TEST(Values, ParseFormatNameListsTheFormatsWhenUnknown) {
  absl::StatusOr<v1::Format> f = ParseFormatName("swiss");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "unknown format \"swiss\": use one of english, dutch, sealed-first-price, "
            "sealed-second-price, multi-unit-uniform, multi-unit-pay-as-bid, reverse-english, "
            "reverse-sealed, double-continuous, double-call, vickrey");
  EXPECT_FALSE(ParseFormatName("format-unspecified").ok());
}

TEST(Values, EveryFormatNameParsesBack) {
  for (int i = v1::Format_MIN; i <= v1::Format_MAX; ++i) {
    if (i == v1::FORMAT_UNSPECIFIED) continue;
    const auto format = static_cast<v1::Format>(i);
    EXPECT_EQ(*ParseFormatName(FormatName(format)), format) << FormatName(format);
  }
  EXPECT_EQ(FormatName(v1::MULTI_UNIT_PAY_AS_BID), "multi-unit-pay-as-bid");
  EXPECT_EQ(FormatName(static_cast<v1::Format>(99)), "unknown(99)");
}

TEST(Values, StatesAreLowerCaseWords) {
  for (int i = v1::AuctionState_MIN; i <= v1::AuctionState_MAX; ++i) {
    if (i == v1::AUCTION_STATE_UNSPECIFIED) continue;
    const auto state = static_cast<v1::AuctionState>(i);
    EXPECT_EQ(*ParseStateName(StateName(state)), state);
  }
  EXPECT_EQ(StateName(v1::OPEN), "open");
  EXPECT_EQ(StateName(v1::CANCELLED), "cancelled");
  EXPECT_EQ(*ParseStateName("OPEN"), v1::OPEN);
  EXPECT_THAT(ParseStateName("running").status().message(),
              HasSubstr("use one of scheduled, open, closed, settled, cancelled"));
}

TEST(Values, OutcomesAreLowerCaseWords) {
  EXPECT_EQ(OutcomeName(v1::SOLD), "sold");
  EXPECT_EQ(OutcomeName(v1::UNSOLD_NO_BIDS), "unsold-no-bids");
  EXPECT_EQ(OutcomeName(v1::UNSOLD_RESERVE_NOT_MET), "unsold-reserve-not-met");
  EXPECT_EQ(OutcomeName(v1::CANCELLED_BY_SELLER), "cancelled");
  EXPECT_EQ(*ParseOutcomeName("cancelled"), v1::CANCELLED_BY_SELLER);
  EXPECT_EQ(*ParseOutcomeName("UNSOLD_NO_BIDS"), v1::UNSOLD_NO_BIDS);
  EXPECT_EQ(*ParseOutcomeName("unsold-reserve-not-met"), v1::UNSOLD_RESERVE_NOT_MET);
  EXPECT_FALSE(ParseOutcomeName("cancelled-by-seller").ok());
}

TEST(Values, SidesParseCaseInsensitively) {
  EXPECT_EQ(*ParseSideName("buy"), v1::BUY);
  EXPECT_EQ(*ParseSideName("SELL"), v1::SELL);
  EXPECT_EQ(ParseSideName("bid").status().message(), "unknown side \"bid\": use one of buy, sell");
}

TEST(Values, ParseSoftCloseTakesThreeDurations) {
  absl::StatusOr<v1::SoftClose> s = ParseSoftClose("30s,45s,5m");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->window().seconds(), 30);
  EXPECT_EQ(s->extension().seconds(), 45);
  EXPECT_EQ(s->cap().seconds(), 300);
  EXPECT_THAT(ParseSoftClose("30s,30s").status().message(),
              HasSubstr("must be WINDOW,EXTENSION,CAP, like 30s,30s,5m"));
  EXPECT_THAT(ParseSoftClose("30s,x,5m").status().message(),
              HasSubstr("--soft-close EXTENSION \"x\" is not a duration"));
}

TEST(Values, ParseIncrementTableReadsAmountsInTheCurrency) {
  absl::StatusOr<std::vector<v1::IncrementStep>> steps =
      ParseIncrementTable("0:0.50,100:1,1000.00:5.00", "EUR");
  ASSERT_TRUE(steps.ok()) << steps.status();
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].from_minor(), 0);
  EXPECT_EQ((*steps)[0].step_minor(), 50);
  EXPECT_EQ((*steps)[1].from_minor(), 10000);
  EXPECT_EQ((*steps)[1].step_minor(), 100);
  EXPECT_EQ((*steps)[2].from_minor(), 100000);
  EXPECT_EQ((*steps)[2].step_minor(), 500);

  EXPECT_THAT(ParseIncrementTable("0:0.50,100", "EUR").status().message(),
              HasSubstr("\"100\" must be FROM:STEP"));
  EXPECT_EQ(ParseIncrementTable("0:0.505", "EUR").status().message(),
            "--increment STEP: 0.505 EUR: EUR has 2 decimal places");
  EXPECT_EQ(ParseIncrementTable("0:5", "JPY")->at(0).step_minor(), 5);
}

TEST(Values, TimesPrintAsUtcRfc3339Seconds) {
  google::protobuf::Timestamp t;
  EXPECT_EQ(FormatTime(t), "-");
  EXPECT_EQ(FormatClock(t), "-");
  t.set_seconds(1714556043);  // 2024-05-01T09:34:03Z
  t.set_nanos(900'000'000);   // fractions are cut, not rounded
  EXPECT_EQ(FormatTime(t), "2024-05-01T09:34:03Z");
  EXPECT_EQ(FormatClock(t), "09:34:03");
}

TEST(Values, ProtoTimeAndDurationRoundTrip) {
  const absl::Time t = absl::FromUnixMillis(1714556043123);
  EXPECT_EQ(FromProtoTime(ToProtoTime(t)), t);
  const absl::Time before_epoch = absl::FromUnixMillis(-1500);
  const google::protobuf::Timestamp p = ToProtoTime(before_epoch);
  EXPECT_EQ(p.seconds(), -2);  // nanos are never negative in a Timestamp
  EXPECT_EQ(p.nanos(), 500'000'000);
  EXPECT_EQ(FromProtoTime(p), before_epoch);
  const absl::Duration d = absl::Minutes(90) + absl::Milliseconds(5);
  EXPECT_EQ(FromProtoDuration(ToProtoDuration(d)), d);
  EXPECT_EQ(FormatDuration(ToProtoDuration(absl::Minutes(90))), "1h30m");
}

TEST(Values, StatusCodesHaveTheirProtoNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(42)), "CODE_42");
}

}  // namespace
}  // namespace gavel::cli
