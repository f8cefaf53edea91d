#include "server/store/internal/pg_status.h"

#include <exception>
#include <pqxx/except>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gavel::store_internal {
namespace {

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running...");
// logs and statuses want one line: a line that ends without punctuation gets
// a full stop, so that its sentence does not run into the next.
std::string OneLine(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  bool space = false;
  bool line_break = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      line_break = line_break || c == '\n';
      continue;
    }
    if (space && !out.empty()) {
      if (line_break && !absl::StrContains(".;:,!?", out.back())) out.push_back('.');
      out.push_back(' ');
    }
    space = false;
    line_break = false;
    out.push_back(c);
  }
  return out;
}

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (absl::StartsWith(state, "08")) return absl::StatusCode::kUnavailable;  // connection
  if (state == "57P01" || state == "57P02" || state == "57P03") {
    return absl::StatusCode::kUnavailable;  // server shutting down or starting up
  }
  if (state == "57014") return absl::StatusCode::kDeadlineExceeded;  // query cancelled
  if (absl::StartsWith(state, "53")) return absl::StatusCode::kResourceExhausted;
  if (absl::StartsWith(state, "40")) return absl::StatusCode::kAborted;  // deadlock, ...
  if (absl::StartsWith(state, "22") || absl::StartsWith(state, "23")) {
    return absl::StatusCode::kInvalidArgument;  // data exception, integrity violation
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::Status StatusFromCurrentException(absl::string_view context) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat(context, ": the database is unreachable (", OneLine(e.what()), ")"));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat(
        context, ": connection lost during commit, outcome unknown: ", OneLine(e.what())));
  } catch (const pqxx::sql_error& e) {
    return absl::Status(CodeForSqlState(e.sqlstate()),
                        absl::StrCat(context, ": ", OneLine(e.what())));
  } catch (const pqxx::transaction_rollback& e) {
    return absl::AbortedError(absl::StrCat(context, ": ", OneLine(e.what())));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(context, ": ", OneLine(e.what())));
  } catch (...) {
    return absl::InternalError(absl::StrCat(context, ": unknown exception"));
  }
}

}  // namespace gavel::store_internal
