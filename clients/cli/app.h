// The `gavel` command line application. main() only builds the real
// Environment and calls Main; tests call Main with their own.
#ifndef GAVEL_CLIENTS_CLI_APP_H_
#define GAVEL_CLIENTS_CLI_APP_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "clients/client.h"

namespace gavel::cli {

// Exit codes, stable for scripts.
// 0: done.
inline constexpr int kExitOk = 0;
// The server answered with an error or could not be reached (or, with
// --json, sent a message that has no JSON form).
inline constexpr int kExitRpcError = 1;
// A bad command line or flag value; nothing that changes state was sent.
inline constexpr int kExitUsage = 2;
// The server refused: a bid or order REJECTED, an order not cancelled.
inline constexpr int kExitRefused = 3;
// `audit verify`: the hash chain does not check out.
inline constexpr int kExitInvalid = 4;

// What the application takes from the outside world.
struct Environment {
  // Reads an environment variable; nullopt when unset.
  std::function<std::optional<std::string>(absl::string_view name)> get_env;
  // A fresh idempotency key for request_id / client_bid_id.
  std::function<std::string()> new_request_id;
  // Opens a client for `server` with `token`; `timeout` bounds each unary call.
  std::function<std::unique_ptr<client::GavelClient>(
      const std::string& server, const std::string& token, std::optional<absl::Duration> timeout)>
      connect;
};

// The process environment, random request ids, insecure channels.
Environment RealEnvironment();

// Runs the command line `args` (argv without the program name). Normal output
// goes to `out`, errors and usage to `err`. Returns the exit code.
int Main(absl::Span<const std::string> args, const Environment& env, std::ostream& out,
         std::ostream& err);

}  // namespace gavel::cli

#endif  // GAVEL_CLIENTS_CLI_APP_H_
