#include "server/auth.h"

#include "gtest/gtest.h"

namespace gavel {
namespace {

TEST(TokenTable, ParsesLinesCommentsAndRoles) {
  absl::StatusOr<TokenTable> t = TokenTable::Parse(
      "# demo tokens\n"
      "s1 alice seller\n"
      "b1 bob bidder   # trailing comment\n"
      "\n"
      "b2 alice bidder\n"
      "a1 audrey auditor\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->size(), 4u);
  absl::StatusOr<Caller> alice_sells = t->Check("Bearer s1", {Role::kSeller});
  absl::StatusOr<Caller> alice_bids = t->Check("Bearer b2", {Role::kBidder});
  ASSERT_TRUE(alice_sells.ok());
  ASSERT_TRUE(alice_bids.ok());
  // One principal, two roles, one id.
  EXPECT_EQ(alice_sells->principal, alice_bids->principal);
  EXPECT_EQ(t->principals().Name(alice_sells->principal), "alice");
}

TEST(TokenTable, RejectsMalformedFilesNamingTheLine) {
  EXPECT_EQ(TokenTable::Parse("x alice\n").status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status st = TokenTable::Parse("a b seller\nc d king\n").status();
  EXPECT_NE(st.message().find("line 2"), absl::string_view::npos) << st;
  EXPECT_NE(st.message().find("king"), absl::string_view::npos) << st;
  EXPECT_FALSE(TokenTable::Parse("t a seller\nt b bidder\n").ok());
  EXPECT_FALSE(TokenTable::Parse("# nothing\n").ok());
}

TEST(TokenTable, AuthenticatesAndAuthorizes) {
  TokenTable t = *TokenTable::Parse("s1 alice seller\na1 audrey auditor\nroot ops admin\n");
  EXPECT_EQ(t.Check("", {Role::kSeller}).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(t.Check("Bearer nope", {Role::kSeller}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(t.Check("Basic s1", {Role::kSeller}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(t.Check("Bearer a1", {Role::kBidder}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(t.Check("Bearer root", {Role::kBidder}).ok());  // admin passes every role
}

}  // namespace
}  // namespace gavel
