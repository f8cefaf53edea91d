// clients/cli/args.h: the command line parser, on a small command set of its own.
#include "clients/cli/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gavel::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<FlagSpec>& Globals() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"server", "HOST:PORT", "the server"},
      {"token", "T", "the token"},
      {"json", "", "JSON output"},
      {"help", "", "help"},
  };
  return *kFlags;
}

const std::vector<CommandSpec>& Commands() {
  static const auto* const kCommands = new std::vector<CommandSpec>{
      {.name = "auction create",
       .summary = "create",
       .flags = {{"title", "T", "title", true}, {"duration", "DURATION", "how long"}}},
      {.name = "auction show", .positionals = {"A"}, .min_positionals = 1, .summary = "show"},
      {.name = "bid",
       .positionals = {"A", "AMOUNT"},
       .min_positionals = 1,
       .summary = "bid",
       .flags = {{"quantity", "N", "units"}, {"id", "ID", "key"}}},
      {.name = "order",
       .positionals = {"A", "SIDE", "QTY", "@", "PRICE"},
       .min_positionals = 5,
       .summary = "order",
       .flags = {{"ioc", "", "immediate or cancel"}}},
      {.name = "order cancel",
       .positionals = {"A", "BID_ID"},
       .min_positionals = 2,
       .summary = "cancel"},
      {.name = "help", .positionals = {"COMMAND"}, .variadic = true, .summary = "help"},
  };
  return *kCommands;
}

absl::StatusOr<CommandLine> Parse(std::vector<std::string> args,
                                  const CommandSpec** matched = nullptr) {
  return ParseCommandLine(args, Globals(), Commands(), matched);
}

// The error message of a failed parse.
std::string ErrorOf(std::vector<std::string> args) {
  absl::StatusOr<CommandLine> cl = Parse(std::move(args));
  EXPECT_FALSE(cl.ok());
  EXPECT_EQ(cl.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cl.status().message());
}

TEST(Args, ParseCommandLineAcceptsSpaceAndEqualsFlagForms) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"bid", "A1", "12.50", "--quantity", "3"}, {"bid", "A1", "12.50", "--quantity=3"}}) {
    absl::StatusOr<CommandLine> cl = Parse(args);
    ASSERT_TRUE(cl.ok()) << cl.status();
    EXPECT_EQ(cl->command->name, "bid");
    EXPECT_THAT(cl->positionals, ElementsAre("A1", "12.50"));
    EXPECT_EQ(cl->GetOr("quantity", ""), "3");
  }
}

TEST(Args, GlobalFlagsGoBeforeOrAfterTheCommand) {
  absl::StatusOr<CommandLine> cl =
      Parse({"--server", "h:1", "--json", "bid", "--token=t", "A1", "5", "--quantity", "2"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->command->name, "bid");
  EXPECT_THAT(cl->positionals, ElementsAre("A1", "5"));
  EXPECT_EQ(cl->GetOr("server", ""), "h:1");
  EXPECT_EQ(cl->GetOr("token", ""), "t");
  EXPECT_EQ(cl->GetOr("json", ""), "true");
  EXPECT_EQ(cl->GetOr("quantity", ""), "2");
}

TEST(Args, GlobalFlagsMayComeBetweenCommandWords) {
  absl::StatusOr<CommandLine> cl = Parse({"auction", "--json", "show", "A1"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->command->name, "auction show");
  EXPECT_THAT(cl->positionals, ElementsAre("A1"));
}

TEST(Args, EqualsFormCarriesValuesThatLookLikeFlags) {
  absl::StatusOr<CommandLine> cl = Parse({"auction", "create", "--title=--odd--", "--duration=2m"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->GetOr("title", ""), "--odd--");
  EXPECT_EQ(cl->GetOr("duration", ""), "2m");
}

TEST(Args, EqualsFormAllowsAnEmptyValue) {
  absl::StatusOr<CommandLine> cl = Parse({"auction", "create", "--title="});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_TRUE(cl->Has("title"));
  EXPECT_EQ(cl->GetOr("title", "x"), "");
}

TEST(Args, ValuesMayContainSpacesAndEquals) {
  absl::StatusOr<CommandLine> cl = Parse({"auction", "create", "--title", "a = b c"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->GetOr("title", ""), "a = b c");
  cl = Parse({"auction", "create", "--title=x=y"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->GetOr("title", ""), "x=y");
}

TEST(Args, FlagMissingItsValueAtTheEndIsAnError) {
  EXPECT_EQ(ErrorOf({"bid", "A1", "5", "--quantity"}),
            "flag --quantity needs a value (--quantity N)");
  EXPECT_EQ(ErrorOf({"bid", "A1", "--server"}), "flag --server needs a value (--server HOST:PORT)");
}

TEST(Args, FlagFollowedByAnotherFlagIsMissingItsValue) {
  EXPECT_EQ(ErrorOf({"auction", "create", "--title", "--duration", "2m"}),
            "flag --title needs a value (--title T)");
  EXPECT_EQ(ErrorOf({"--server", "--json", "bid", "A1", "5"}),
            "flag --server needs a value (--server HOST:PORT)");
}

TEST(Args, UnknownFlagIsNamedWithTheCommand) {
  EXPECT_EQ(ErrorOf({"bid", "A1", "5", "--bogus", "x"}),
            "unknown flag --bogus for 'gavel bid' (run 'gavel help bid')");
  EXPECT_EQ(ErrorOf({"bid", "A1", "5", "--bogus=x"}),
            "unknown flag --bogus for 'gavel bid' (run 'gavel help bid')");
  // Another command's flag is unknown here too.
  EXPECT_EQ(ErrorOf({"auction", "show", "A1", "--quantity", "2"}),
            "unknown flag --quantity for 'gavel auction show' (run 'gavel help auction show')");
}

TEST(Args, UnknownFlagBeforeTheCommandIsAnError) {
  EXPECT_EQ(ErrorOf({"--bogus", "bid", "A1"}), "unknown flag --bogus (run 'gavel help')");
}

TEST(Args, CommandFlagBeforeTheCommandSaysWhereItGoes) {
  EXPECT_EQ(ErrorOf({"--title", "x", "auction", "create"}),
            "flag --title must come after the command");
}

TEST(Args, UnknownShortFlagIsAnError) {
  EXPECT_EQ(ErrorOf({"bid", "A1", "5", "-q", "2"}),
            "unknown flag -q (flags start with --; run 'gavel help bid')");
  EXPECT_EQ(ErrorOf({"-v", "bid"}), "unknown flag -v (flags start with --; run 'gavel help')");
}

TEST(Args, NegativeNumbersAreArgumentsNotFlags) {
  absl::StatusOr<CommandLine> cl = Parse({"bid", "A1", "-5"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_THAT(cl->positionals, ElementsAre("A1", "-5"));
  cl = Parse({"bid", "A1", "--quantity", "-2"});  // a value, for the command to reject
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->GetOr("quantity", ""), "-2");
}

TEST(Args, BooleanFlagTakesNoValue) {
  EXPECT_EQ(ErrorOf({"bid", "A1", "5", "--json=yes"}), "flag --json takes no value");
}

TEST(Args, RepeatedFlagIsAnError) {
  EXPECT_EQ(ErrorOf({"--server", "a:1", "bid", "A1", "--server=b:2"}), "flag --server given twice");
  EXPECT_EQ(ErrorOf({"bid", "A1", "--json", "--json"}), "flag --json given twice");
}

TEST(Args, DoubleDashEndsTheFlags) {
  absl::StatusOr<CommandLine> cl = Parse({"bid", "--", "--A1", "--5"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_THAT(cl->positionals, ElementsAre("--A1", "--5"));
  EXPECT_TRUE(cl->flags.empty());
}

TEST(Args, LongestCommandNameWins) {
  absl::StatusOr<CommandLine> cl = Parse({"order", "cancel", "A1", "A1-7"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->command->name, "order cancel");
  EXPECT_THAT(cl->positionals, ElementsAre("A1", "A1-7"));

  cl = Parse({"order", "A1", "buy", "10", "@", "12.50", "--ioc"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->command->name, "order");
  EXPECT_THAT(cl->positionals, ElementsAre("A1", "buy", "10", "@", "12.50"));
  EXPECT_TRUE(cl->Has("ioc"));
}

TEST(Args, GroupWithoutSubcommandListsTheSubcommands) {
  EXPECT_EQ(ErrorOf({"auction"}), "'gavel auction' needs a subcommand: create, show");
  EXPECT_EQ(ErrorOf({"--json", "auction", "--token", "t"}),
            "'gavel auction' needs a subcommand: create, show");
}

TEST(Args, UnknownSubcommandListsTheSubcommands) {
  EXPECT_EQ(ErrorOf({"auction", "frob"}),
            "unknown command 'gavel auction frob'; 'gavel auction' has: create, show");
}

TEST(Args, UnknownCommandIsAnError) {
  EXPECT_EQ(ErrorOf({"frob", "A1"}), "unknown command 'frob' (run 'gavel help')");
}

TEST(Args, NoCommandIsAnError) {
  EXPECT_EQ(ErrorOf({"--json"}), "no command given (run 'gavel help')");
  EXPECT_EQ(ErrorOf({}), "no command given (run 'gavel help')");
}

TEST(Args, MissingArgumentIsNamed) {
  EXPECT_EQ(ErrorOf({"bid"}), "missing argument A");
  EXPECT_EQ(ErrorOf({"order", "A1", "buy", "10"}), "missing argument @");
  EXPECT_EQ(ErrorOf({"order", "cancel", "A1"}), "missing argument BID_ID");
}

TEST(Args, OptionalArgumentMayBeLeftOut) {
  absl::StatusOr<CommandLine> cl = Parse({"bid", "A1"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_THAT(cl->positionals, ElementsAre("A1"));
}

TEST(Args, ExtraArgumentIsAnError) {
  EXPECT_EQ(ErrorOf({"auction", "show", "A1", "A2"}), "unexpected argument 'A2'");
  EXPECT_EQ(ErrorOf({"bid", "A1", "5", "6"}), "unexpected argument '6'");
}

TEST(Args, VariadicCommandTakesAnyNumberOfArguments) {
  absl::StatusOr<CommandLine> cl = Parse({"help", "auction", "create"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->command->name, "help");
  EXPECT_THAT(cl->positionals, ElementsAre("auction", "create"));
}

TEST(Args, MissingRequiredFlagIsNamed) {
  EXPECT_EQ(ErrorOf({"auction", "create", "--duration", "2m"}), "missing flag --title T");
}

TEST(Args, HelpSkipsArgumentChecks) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"bid", "--help"}, {"bid", "-h"}, {"--help", "bid"}, {"auction", "create", "-h"}}) {
    absl::StatusOr<CommandLine> cl = Parse(args);
    ASSERT_TRUE(cl.ok()) << args[0] << ": " << cl.status();
    EXPECT_TRUE(cl->help);
    ASSERT_NE(cl->command, nullptr);
  }
}

TEST(Args, HelpAloneNamesNoCommand) {
  absl::StatusOr<CommandLine> cl = Parse({"--help"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_TRUE(cl->help);
  EXPECT_EQ(cl->command, nullptr);
  // A group with --help keeps its word, so the caller can list the group.
  cl = Parse({"auction", "--help"});
  ASSERT_TRUE(cl.ok()) << cl.status();
  EXPECT_EQ(cl->command, nullptr);
  EXPECT_THAT(cl->positionals, ElementsAre("auction"));
}

TEST(Args, ErrorReportsTheCommandItRecognised) {
  const CommandSpec* matched = nullptr;
  EXPECT_FALSE(Parse({"bid", "A1", "--bogus"}, &matched).ok());
  ASSERT_NE(matched, nullptr);
  EXPECT_EQ(matched->name, "bid");
  EXPECT_FALSE(Parse({"frob"}, &matched).ok());
  EXPECT_EQ(matched, nullptr);
}

TEST(Args, UsageShowsArgumentsAndFlags) {
  EXPECT_EQ(Usage(Commands()[2]), "usage: gavel bid A [AMOUNT] [--quantity N] [--id ID]\n");
  EXPECT_EQ(Usage(Commands()[0]), "usage: gavel auction create --title T [--duration DURATION]\n");
  EXPECT_EQ(Usage(Commands()[5]), "usage: gavel help [COMMAND...]\n");
}

TEST(Args, UsageWrapsLongLines) {
  CommandSpec big{.name = "big"};
  for (int i = 0; i < 20; ++i) big.flags.push_back({"flag-" + std::to_string(i), "VALUE", "x"});
  const std::string usage = Usage(big);
  size_t start = 0;
  int lines = 0;
  for (size_t nl; (nl = usage.find('\n', start)) != std::string::npos; start = nl + 1, ++lines) {
    EXPECT_LE(nl - start, 100u) << usage;
    if (lines > 0) {
      EXPECT_EQ(usage.substr(start, 8), "       [");
    }
  }
  EXPECT_GT(lines, 1);
}

TEST(Args, CommandHelpListsFlagsAndGlobalFlags) {
  const std::string help = CommandHelp(Commands()[2], Globals());
  EXPECT_THAT(help, HasSubstr("usage: gavel bid A [AMOUNT]"));
  EXPECT_THAT(help, HasSubstr("  --quantity N   units\n"));
  EXPECT_THAT(help, HasSubstr("global flags:\n  --server HOST:PORT   the server\n"));
}

}  // namespace
}  // namespace gavel::cli
