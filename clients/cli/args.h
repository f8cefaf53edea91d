// The `gavel` command line: a small parser for "command [subcommand]
// positionals --flags", with global flags allowed before or after the command.
//
// Flags take the forms `--name value` and `--name=value`; a boolean flag is
// just `--name`. In the `--name value` form a value may not start with "--"
// (that is taken as a forgotten value); write `--name=--odd` for such values.
// `--` ends the flags: what follows is positional. `-h` and `--help` ask for
// help anywhere. A token like "-5" is a positional (an amount, say), but
// "-x" is an unknown short flag.
#ifndef GAVEL_CLIENTS_CLI_ARGS_H_
#define GAVEL_CLIENTS_CLI_ARGS_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace gavel::cli {

struct FlagSpec {
  std::string name;        // without the dashes: "page-size"
  std::string value_name;  // "N"; empty for a boolean flag
  std::string help;        // one line
  bool required = false;   // the parser reports a missing required flag

  bool TakesValue() const { return !value_name.empty(); }
};

struct CommandSpec {
  std::string name = {};                      // one or two words: "bid", "auction create"
  std::vector<std::string> positionals = {};  // names shown in usage: {"A", "AMOUNT"}
  size_t min_positionals = 0;                 // the rest are optional
  bool variadic = false;                      // the last positional repeats
  std::string summary = {};                   // one line
  std::vector<FlagSpec> flags = {};
  std::string details = {};  // more text for `gavel help <command>`; may be empty
};

// The parsed command line. Boolean flags map to "true".
struct CommandLine {
  const CommandSpec* command = nullptr;  // null: none named (only global flags, or help)
  std::vector<std::string> positionals;
  std::map<std::string, std::string, std::less<>> flags;
  bool help = false;  // -h or --help was given

  bool Has(absl::string_view flag) const { return flags.find(flag) != flags.end(); }
  // The flag's value, or nullopt when it was not given.
  std::optional<std::string> Get(absl::string_view flag) const;
  std::string GetOr(absl::string_view flag, absl::string_view fallback) const;
};

// Parses `args` (argv without the program name). Global flags may appear
// anywhere; the command's flags only after the command's words. Commands are
// matched by their words, longest first, so "order cancel" wins over "order".
// On a usage error returns InvalidArgument with a message naming the problem
// ("unknown flag --foo for 'gavel bid'", "flag --title needs a value",
// "missing argument AMOUNT", "missing flag --title", "flag --server given
// twice"); `*matched`, when not
// null, is set to the command recognised before the error (or null), so the
// caller can print that command's usage. Positional counts and required flags
// are not checked when help was requested.
absl::StatusOr<CommandLine> ParseCommandLine(absl::Span<const std::string> args,
                                             absl::Span<const FlagSpec> global_flags,
                                             absl::Span<const CommandSpec> commands,
                                             const CommandSpec** matched = nullptr);

// "usage: gavel bid A [AMOUNT] [--quantity N] [--id CLIENT_BID_ID]\n",
// wrapped at 100 columns.
std::string Usage(const CommandSpec& command);
// The usage, summary, details and an aligned list of the command's flags and
// the global flags.
std::string CommandHelp(const CommandSpec& command, absl::Span<const FlagSpec> global_flags);

}  // namespace gavel::cli

#endif  // GAVEL_CLIENTS_CLI_ARGS_H_
