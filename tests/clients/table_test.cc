// clients/cli/table.h: aligned text tables.
#include "clients/cli/table.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace gavel::cli {
namespace {

std::string Printed(const Table& t, bool header = true) {
  std::ostringstream out;
  t.Print(out, header);
  return out.str();
}

TEST(Table, ColumnsAreAsWideAsTheirWidestCell) {
  Table t({{"AUCTION"}, {"PRICE", Table::Align::kRight}, {"LEADER"}});
  t.AddRow({"A1", "12.50 EUR", "bob"});
  t.AddRow({"A12345678", "1250 JPY", "-"});
  EXPECT_EQ(Printed(t),
            "AUCTION        PRICE  LEADER\n"
            "A1         12.50 EUR  bob\n"
            "A12345678   1250 JPY  -\n");
}

TEST(Table, RightAlignedAmountsLineUpOnTheRight) {
  Table t({{"AMOUNT", Table::Align::kRight}});
  t.AddRow({"0.05 EUR"});
  t.AddRow({"92233720368547758.07 EUR"});
  EXPECT_EQ(Printed(t),
            "                  AMOUNT\n"
            "                0.05 EUR\n"
            "92233720368547758.07 EUR\n");
}

TEST(Table, NoTrailingSpacesAndMissingCellsAreEmpty) {
  Table t({{"A"}, {"B"}, {"C"}});
  t.AddRow({"x"});
  t.AddRow({"1", "2", "3", "dropped"});
  EXPECT_EQ(Printed(t),
            "A  B  C\n"
            "x\n"
            "1  2  3\n");
}

TEST(Table, WidthsCountUtf8CodePoints) {
  Table t({{"NAME"}, {"N", Table::Align::kRight}});
  t.AddRow({"Zoë", "1"});
  t.AddRow({"Bob", "22"});
  EXPECT_EQ(Printed(t),
            "NAME   N\n"
            "Zoë    1\n"
            "Bob   22\n");
}

TEST(Table, HeaderCanBeLeftOut) {
  Table t({{"LONG HEADER"}, {"X"}});
  t.AddRow({"a", "b"});
  EXPECT_EQ(Printed(t, /*header=*/false), "a  b\n");
}

TEST(Table, TruncateCutsLongTextWithDots) {
  EXPECT_EQ(Truncate("Vintage lamp", 32), "Vintage lamp");
  EXPECT_EQ(Truncate("abcdefghij", 8), "abcde...");
  EXPECT_EQ(Truncate("ééééééééé", 6), "ééé...");  // never splits a character
  EXPECT_EQ(TextWidth("ééé"), 3u);
}

TEST(Table, DetailsPadKeysAndSkipEmptyValues) {
  Details d;
  d.Add("auction", "A1");
  d.Add("a very long key", "");
  d.Add("current price", "12.50 EUR");
  std::ostringstream out;
  d.Print(out);
  EXPECT_EQ(out.str(),
            "auction        A1\n"
            "current price  12.50 EUR\n");
}

// Text from the server reaches the terminal escaped: an escape sequence, a
// carriage return or a right-to-left override in a title cannot recolour,
// overwrite or reverse what is printed.
TEST(Table, ControlCharactersArePrintedAsEscapes) {
  EXPECT_EQ(Printable("lamp\x1b[31mred\r", false), "lamp\\x1b[31mred\\x0d");
  EXPECT_EQ(Printable("a\nb\tc", false), "a\\x0ab c");
  EXPECT_EQ(Printable("a\nb", true), "a\nb");
  EXPECT_EQ(Printable("x\u202e\u2066y\u0085z\x7f", false), "x\\u202e\\u2066y\\u0085z\\x7f");
  EXPECT_EQ(Printable("Zoë \u2014 5 \u20ac", false), "Zoë \u2014 5 \u20ac");  // other text as is

  Table t({{"TITLE"}, {"N"}});
  t.AddRow({"a\x1b[2Jb", "1"});
  EXPECT_EQ(Printed(t), "TITLE      N\na\\x1b[2Jb  1\n");

  Details d;
  d.Add("title", "two\x1b[31m");
  d.Add("description", "first line\nsecond line");
  std::ostringstream out;
  d.Print(out);
  EXPECT_EQ(out.str(),
            "title        two\\x1b[31m\n"
            "description  first line\n"
            "             second line\n");
}

}  // namespace
}  // namespace gavel::cli
