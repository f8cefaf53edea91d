#include "server/auth.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gavel {

absl::string_view RoleName(Role r) {
  switch (r) {
    case Role::kSeller: return "seller";
    case Role::kBidder: return "bidder";
    case Role::kAuditor: return "auditor";
    case Role::kAdmin: return "admin";
  }
  return "unknown";
}

absl::string_view Principals::Name(PrincipalId id) const {
  return id < names_.size() ? absl::string_view(names_[id]) : absl::string_view("?");
}

PrincipalId Principals::Find(absl::string_view name) const {
  auto it = ids_.find(name);
  return it == ids_.end() ? kNoPrincipal : it->second;
}

PrincipalId Principals::Intern(absl::string_view name) {
  auto [it, inserted] = ids_.emplace(std::string(name), static_cast<PrincipalId>(names_.size()));
  if (inserted) names_.emplace_back(name);
  return it->second;
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text) {
  TokenTable table;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    if (words.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokens file line ", line_no, ": expected `TOKEN PRINCIPAL ROLE`, found ",
          words.size(), " word(s)"));
    }
    Role role;
    if (words[2] == "seller") {
      role = Role::kSeller;
    } else if (words[2] == "bidder") {
      role = Role::kBidder;
    } else if (words[2] == "auditor") {
      role = Role::kAuditor;
    } else if (words[2] == "admin") {
      role = Role::kAdmin;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("tokens file line ", line_no,
                                                      ": unknown role \"", words[2],
                                                      "\" (seller, bidder, auditor, admin)"));
    }
    if (words[1].size() > 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens file line ", line_no, ": principal names are at most 64 bytes"));
    }
    Caller caller{table.principals_.Intern(words[1]), role};
    if (!table.tokens_.emplace(std::string(words[0]), caller).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens file line ", line_no, ": the token is listed twice"));
    }
  }
  if (table.tokens_.empty()) {
    return absl::InvalidArgumentError("tokens file lists no tokens");
  }
  return table;
}

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read tokens file ", path, ": it is a directory"));
  }
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read tokens file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<TokenTable> table = Parse(buffer.str());
  if (!table.ok()) {
    return absl::Status(table.status().code(), absl::StrCat(path, ": ", table.status().message()));
  }
  return table;
}

absl::StatusOr<Caller> TokenTable::Check(absl::string_view header,
                                         std::initializer_list<Role> allowed) const {
  if (header.empty()) {
    return absl::UnauthenticatedError("missing `authorization: Bearer <token>` metadata");
  }
  absl::string_view token = header;
  if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
    return absl::UnauthenticatedError("authorization metadata must be `Bearer <token>`");
  }
  auto it = tokens_.find(absl::StripAsciiWhitespace(token));
  if (it == tokens_.end()) return absl::UnauthenticatedError("unknown token");
  const Caller& caller = it->second;
  if (caller.role == Role::kAdmin) return caller;
  for (Role r : allowed) {
    if (r == caller.role) return caller;
  }
  std::string wanted;
  for (Role r : allowed) absl::StrAppend(&wanted, wanted.empty() ? "" : " or ", RoleName(r));
  return absl::PermissionDeniedError(absl::StrCat("this call needs the ", wanted,
                                                  " role; your token has the ",
                                                  RoleName(caller.role), " role"));
}

namespace {
// The one authorization header ("" when there is none). Several are
// refused: which token counts would depend on their order, which a proxy
// may change.
template <typename Ctx>
absl::StatusOr<absl::string_view> AuthHeader(const Ctx* ctx) {
  const auto& md = ctx->client_metadata();
  auto [it, end] = md.equal_range("authorization");
  if (it == end) return absl::string_view();
  if (std::next(it) != end) {
    return absl::UnauthenticatedError(
        "several `authorization` metadata entries: send exactly one `Bearer <token>`");
  }
  return absl::string_view(it->second.data(), it->second.size());
}
}  // namespace

absl::StatusOr<Caller> TokenTable::Authenticate(const grpc::CallbackServerContext* ctx,
                                                std::initializer_list<Role> allowed) const {
  absl::StatusOr<absl::string_view> header = AuthHeader(ctx);
  if (!header.ok()) return header.status();
  return Check(*header, allowed);
}

absl::StatusOr<Caller> TokenTable::Authenticate(const grpc::ServerContext* ctx,
                                                std::initializer_list<Role> allowed) const {
  absl::StatusOr<absl::string_view> header = AuthHeader(ctx);
  if (!header.ok()) return header.status();
  return Check(*header, allowed);
}

}  // namespace gavel
