// A tiny text table for the `gavel` command line: a header row, columns as
// wide as their widest cell, two spaces between columns, amounts and counts
// right-aligned, no trailing spaces.
#ifndef GAVEL_CLIENTS_CLI_TABLE_H_
#define GAVEL_CLIENTS_CLI_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

namespace gavel::cli {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);

  // Adds a row; missing cells are empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }

  // Writes the header (unless `header` is false) and the rows. Widths count
  // UTF-8 code points, so accented names line up.
  void Print(std::ostream& out, bool header = true) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Key/value lines for one record: "title     Vintage lamp", keys padded to
// the widest key. Rows with an empty value are skipped.
class Details {
 public:
  void Add(std::string key, std::string value);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

// `text` safe to print on a terminal: control characters (tab as a space;
// newline kept when `multiline`), C1 controls and the bidirectional
// overrides and isolates written as escapes (\x1b, \u202e), so that text
// from the server (an auction's title) cannot move the cursor, recolour the
// terminal or reverse what follows. Table and Details apply it to every
// cell.
std::string Printable(const std::string& text, bool multiline);
// Display width of UTF-8 text in code points.
size_t TextWidth(const std::string& text);
// `text` cut to `width` code points, ending in "..." when cut.
std::string Truncate(const std::string& text, size_t width);

}  // namespace gavel::cli

#endif  // GAVEL_CLIENTS_CLI_TABLE_H_
