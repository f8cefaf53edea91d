#include "clients/cli/table.h"

#include <algorithm>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/display_text.h"

namespace gavel::cli {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

void PrintRow(std::ostream& out, const std::vector<Table::Column>& columns,
              const std::vector<size_t>& widths, const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string& cell = cells[i];
    const std::string pad(widths[i] - TextWidth(cell), ' ');
    if (i > 0) line += "  ";
    if (columns[i].align == Table::Align::kRight) {
      line += pad + cell;
    } else {
      line += cell + pad;
    }
  }
  line.erase(line.find_last_not_of(' ') + 1);
  out << line << '\n';
}

}  // namespace

size_t TextWidth(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

std::string Truncate(const std::string& text, size_t width) {
  if (TextWidth(text) <= width) return text;
  const size_t keep = width > 3 ? width - 3 : 0;
  size_t points = 0;
  size_t end = 0;
  while (end < text.size()) {
    if (!IsContinuationByte(text[end])) {
      if (points == keep) break;
      ++points;
    }
    ++end;
  }
  return text.substr(0, end) + std::string(width - keep, '.');
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

std::string Printable(const std::string& text, bool multiline) {
  std::string out;
  out.reserve(text.size());
  size_t from = 0;
  for (std::optional<ControlCharacter> c; (c = FindControlCharacter(text, from));
       from = c->offset + c->length) {
    out.append(text, from, c->offset - from);
    if (multiline && c->code_point == '\n') {
      out += '\n';
    } else if (c->code_point == '\t') {
      out += ' ';
    } else if (c->code_point < 0x80) {
      absl::StrAppend(&out, "\\x", absl::Hex(c->code_point, absl::kZeroPad2));
    } else {
      absl::StrAppend(&out, "\\u", absl::Hex(c->code_point, absl::kZeroPad4));
    }
  }
  out.append(text, from, std::string::npos);
  return out;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) cell = Printable(cell, /*multiline=*/false);
  rows_.push_back(std::move(cells));
}

void Table::Print(std::ostream& out, bool header) const {
  std::vector<size_t> widths;
  std::vector<std::string> headers;
  for (const Column& c : columns_) {
    widths.push_back(header ? TextWidth(c.header) : 0);
    headers.push_back(c.header);
  }
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], TextWidth(row[i]));
  }
  if (header) PrintRow(out, columns_, widths, headers);
  for (const auto& row : rows_) PrintRow(out, columns_, widths, row);
}

void Details::Add(std::string key, std::string value) {
  rows_.emplace_back(std::move(key), Printable(value, /*multiline=*/true));
}

void Details::Print(std::ostream& out) const {
  size_t width = 0;
  for (const auto& [key, value] : rows_) {
    if (!value.empty()) width = std::max(width, TextWidth(key));
  }
  for (const auto& [key, value] : rows_) {
    if (value.empty()) continue;
    // A value's further lines start under its first.
    out << key << std::string(width - TextWidth(key) + 2, ' ')
        << absl::StrReplaceAll(value, {{"\n", "\n" + std::string(width + 2, ' ')}}) << '\n';
  }
}

}  // namespace gavel::cli
