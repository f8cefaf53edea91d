// Bearer-token authentication and roles. Tokens come from a file of lines
// `TOKEN PRINCIPAL ROLE` (`#` starts a comment). The table is built once at
// start and never changes, so every thread reads it without a lock.
#ifndef GAVEL_SERVER_AUTH_H_
#define GAVEL_SERVER_AUTH_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/engine.h"
#include "engine/types.h"
#include "grpcpp/server_context.h"

namespace gavel {

enum class Role : uint8_t { kSeller, kBidder, kAuditor, kAdmin };
absl::string_view RoleName(Role r);

struct Caller {
  PrincipalId principal = kNoPrincipal;
  Role role = Role::kBidder;
};

// Interned principal names: PrincipalId is the index. Immutable once the
// server serves.
class Principals final : public PrincipalNames {
 public:
  absl::string_view Name(PrincipalId id) const override;
  // kNoPrincipal when unknown.
  PrincipalId Find(absl::string_view name) const;
  // The id of `name`, added when new. Recovery interns the principals the
  // journal names that the tokens file no longer lists (so their bids keep
  // their names). REQUIRES: no other thread uses the table yet (before the
  // server serves); it invalidates string_views returned by Name.
  PrincipalId Intern(absl::string_view name);
  // One more than the highest id.
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, PrincipalId> ids_;
};

class TokenTable {
 public:
  // Parses the tokens file text. InvalidArgument naming the line on a
  // malformed line, an unknown role or a repeated token.
  static absl::StatusOr<TokenTable> Parse(absl::string_view text);
  static absl::StatusOr<TokenTable> Load(const std::string& path);

  // Checks `authorization: Bearer <token>`: Unauthenticated when missing or
  // unknown; PermissionDenied when the token's role is not one of
  // `allowed` (admin passes every check).
  absl::StatusOr<Caller> Authenticate(const grpc::CallbackServerContext* ctx,
                                      std::initializer_list<Role> allowed) const;
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContext* ctx,
                                      std::initializer_list<Role> allowed) const;
  absl::StatusOr<Caller> Check(absl::string_view authorization_header,
                               std::initializer_list<Role> allowed) const;

  const Principals& principals() const { return principals_; }
  // For recovery only (see Principals::Intern).
  Principals& mutable_principals() { return principals_; }
  size_t size() const { return tokens_.size(); }

 private:
  Principals principals_;
  absl::flat_hash_map<std::string, Caller> tokens_;
};

}  // namespace gavel

#endif  // GAVEL_SERVER_AUTH_H_
