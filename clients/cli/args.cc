#include "clients/cli/args.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"

namespace gavel::cli {
namespace {

constexpr size_t kUsageWidth = 100;

const FlagSpec* FindFlag(absl::string_view name, absl::Span<const FlagSpec> flags) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const CommandSpec* FindCommand(absl::string_view name, absl::Span<const CommandSpec> commands) {
  for (const CommandSpec& c : commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool IsLongFlag(absl::string_view token) {
  return token.size() > 2 && absl::StartsWith(token, "--");
}

// "-x" is a short flag; "-5", "-0.5" and "-" are positionals.
bool IsShortFlag(absl::string_view token) {
  return token.size() > 1 && token[0] == '-' && token[1] != '-' &&
         !absl::ascii_isdigit(static_cast<unsigned char>(token[1])) && token[1] != '.';
}

absl::string_view FlagName(absl::string_view token) {
  token.remove_prefix(2);
  return token.substr(0, token.find('='));
}

// The subcommands of a group such as "auction": "create, show, list".
std::string Subcommands(absl::string_view group, absl::Span<const CommandSpec> commands) {
  std::vector<std::string> subs;
  const std::string prefix = absl::StrCat(group, " ");
  for (const CommandSpec& c : commands) {
    if (absl::StartsWith(c.name, prefix)) subs.push_back(c.name.substr(prefix.size()));
  }
  return absl::StrJoin(subs, ", ");
}

// Finds the command named by the first words of `args`, skipping global flags,
// and records which tokens were its words.
absl::StatusOr<const CommandSpec*> MatchCommand(absl::Span<const std::string> args,
                                                absl::Span<const FlagSpec> global_flags,
                                                absl::Span<const CommandSpec> commands,
                                                std::vector<size_t>* word_indexes, bool* help) {
  std::vector<size_t> words;
  for (size_t i = 0; i < args.size() && words.size() < 2; ++i) {
    const std::string& token = args[i];
    if (token == "--") break;
    if (token == "-h" || token == "--help") {
      *help = true;
      continue;
    }
    if (IsLongFlag(token)) {
      const FlagSpec* global = FindFlag(FlagName(token), global_flags);
      if (global == nullptr) {
        if (!words.empty()) break;  // the command's own flags start here
        bool belongs_to_a_command = false;
        for (const CommandSpec& c : commands) {
          belongs_to_a_command =
              belongs_to_a_command || FindFlag(FlagName(token), c.flags) != nullptr;
        }
        if (belongs_to_a_command) {
          return absl::InvalidArgumentError(
              absl::StrCat("flag --", FlagName(token), " must come after the command"));
        }
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", FlagName(token), " (run 'gavel help')"));
      }
      // Skip its value, as the second pass will take it.
      if (global->TakesValue() && !absl::StrContains(token, '=') && i + 1 < args.size() &&
          !absl::StartsWith(args[i + 1], "--")) {
        ++i;
      }
      continue;
    }
    if (IsShortFlag(token)) {
      if (!words.empty()) break;
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", token, " (flags start with --; run 'gavel help')"));
    }
    words.push_back(i);
  }
  if (words.empty()) {
    if (*help) return nullptr;
    return absl::InvalidArgumentError("no command given (run 'gavel help')");
  }
  const std::string& first = args[words[0]];
  if (words.size() == 2) {
    const std::string two = absl::StrCat(first, " ", args[words[1]]);
    if (const CommandSpec* c = FindCommand(two, commands)) {
      *word_indexes = words;
      return c;
    }
  }
  if (const CommandSpec* c = FindCommand(first, commands)) {
    word_indexes->assign(1, words[0]);
    return c;
  }
  const std::string subs = Subcommands(first, commands);
  if (!subs.empty()) {
    if (words.size() == 1) {
      if (*help) return nullptr;
      return absl::InvalidArgumentError(
          absl::StrCat("'gavel ", first, "' needs a subcommand: ", subs));
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown command 'gavel ", first, " ",
                                                   args[words[1]], "'; 'gavel ", first,
                                                   "' has: ", subs));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", first, "' (run 'gavel help')"));
}

std::string FlagUsage(const FlagSpec& f) {
  std::string s = absl::StrCat("--", f.name);
  if (f.TakesValue()) absl::StrAppend(&s, " ", f.value_name);
  return f.required ? s : absl::StrCat("[", s, "]");
}

std::string PositionalUsage(const CommandSpec& c) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < c.positionals.size(); ++i) {
    std::string p = c.positionals[i];
    if (c.variadic && i + 1 == c.positionals.size()) absl::StrAppend(&p, "...");
    parts.push_back(i < c.min_positionals ? p : absl::StrCat("[", p, "]"));
  }
  return absl::StrJoin(parts, " ");
}

void AppendFlagList(absl::Span<const FlagSpec> flags, std::string* out) {
  size_t width = 0;
  std::vector<std::string> left;
  for (const FlagSpec& f : flags) {
    left.push_back(absl::StrCat("--", f.name, f.TakesValue() ? " " : "", f.value_name));
    width = std::max(width, left.back().size());
  }
  // Help text continues on further lines under its own column.
  const std::string indent = absl::StrCat("\n", std::string(2 + width + 3, ' '));
  for (size_t i = 0; i < flags.size(); ++i) {
    absl::StrAppend(out, "  ", left[i], std::string(width - left[i].size() + 3, ' '),
                    absl::StrReplaceAll(flags[i].help, {{"\n", indent}}), "\n");
  }
}

}  // namespace

std::optional<std::string> CommandLine::Get(absl::string_view flag) const {
  auto it = flags.find(flag);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::GetOr(absl::string_view flag, absl::string_view fallback) const {
  auto it = flags.find(flag);
  return it == flags.end() ? std::string(fallback) : it->second;
}

absl::StatusOr<CommandLine> ParseCommandLine(absl::Span<const std::string> args,
                                             absl::Span<const FlagSpec> global_flags,
                                             absl::Span<const CommandSpec> commands,
                                             const CommandSpec** matched) {
  if (matched != nullptr) *matched = nullptr;
  CommandLine out;
  std::vector<size_t> word_indexes;
  absl::StatusOr<const CommandSpec*> command =
      MatchCommand(args, global_flags, commands, &word_indexes, &out.help);
  if (!command.ok()) return command.status();
  out.command = *command;
  if (matched != nullptr) *matched = out.command;
  const std::string where = out.command == nullptr
                                ? std::string("'gavel'")
                                : absl::StrCat("'gavel ", out.command->name, "'");
  const std::string help_hint = out.command == nullptr
                                    ? std::string("run 'gavel help'")
                                    : absl::StrCat("run 'gavel help ", out.command->name, "'");

  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (std::find(word_indexes.begin(), word_indexes.end(), i) != word_indexes.end()) continue;
    const std::string& token = args[i];
    if (only_positionals) {
      out.positionals.push_back(token);
      continue;
    }
    if (token == "--") {
      only_positionals = true;
      continue;
    }
    if (token == "-h" || token == "--help") {
      out.help = true;
      continue;
    }
    if (IsShortFlag(token)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", token, " (flags start with --; ", help_hint, ")"));
    }
    if (!IsLongFlag(token)) {
      out.positionals.push_back(token);
      continue;
    }
    const absl::string_view name = FlagName(token);
    const FlagSpec* spec = out.command == nullptr ? nullptr : FindFlag(name, out.command->flags);
    if (spec == nullptr) spec = FindFlag(name, global_flags);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " for ", where, " (", help_hint, ")"));
    }
    const size_t eq = token.find('=');
    std::string value;
    if (!spec->TakesValue()) {
      if (eq != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " takes no value"));
      }
      value = "true";
    } else if (eq != std::string::npos) {
      value = token.substr(eq + 1);
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " needs a value (--", name, " ", spec->value_name, ")"));
    }
    if (!out.flags.emplace(std::string(name), std::move(value)).second) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " given twice"));
    }
  }

  if (out.command == nullptr || out.help) return out;
  const CommandSpec& c = *out.command;
  if (out.positionals.size() < c.min_positionals) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing argument ", c.positionals[out.positionals.size()]));
  }
  if (!c.variadic && out.positionals.size() > c.positionals.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", out.positionals[c.positionals.size()], "'"));
  }
  for (const FlagSpec& f : c.flags) {
    if (f.required && !out.Has(f.name)) {
      return absl::InvalidArgumentError(absl::StrCat("missing flag --", f.name, " ", f.value_name));
    }
  }
  return out;
}

std::string Usage(const CommandSpec& command) {
  std::vector<std::string> parts = {absl::StrCat("usage: gavel ", command.name)};
  if (!command.positionals.empty()) parts.push_back(PositionalUsage(command));
  for (const FlagSpec& f : command.flags) parts.push_back(FlagUsage(f));
  // Wrap at word boundaries that do not split a bracketed flag.
  std::string out;
  size_t line = 0;
  for (const std::string& part : parts) {
    if (line > 0 && line + 1 + part.size() > kUsageWidth) {
      out += "\n       ";
      line = 7;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out += part;
    line += part.size();
  }
  out += '\n';
  return out;
}

std::string CommandHelp(const CommandSpec& command, absl::Span<const FlagSpec> global_flags) {
  std::string out = Usage(command);
  absl::StrAppend(&out, "\n", command.summary, "\n");
  if (!command.details.empty()) absl::StrAppend(&out, "\n", command.details, "\n");
  if (!command.flags.empty()) {
    out += "\nflags:\n";
    AppendFlagList(command.flags, &out);
  }
  out += "\nglobal flags:\n";
  AppendFlagList(global_flags, &out);
  return out;
}

}  // namespace gavel::cli
