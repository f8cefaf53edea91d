// gavel-server: the Gavel auction server. All flags are defined here and
// passed down as ServerOptions (STYLE.md 10). `--flagfile=FILE` reads flags
// from a file.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "address to serve gRPC on (HOST:PORT)");
ABSL_FLAG(std::string, postgres, "",
          "libpq connection string of the PostgreSQL that keeps settlements, e.g. "
          "\"host=127.0.0.1 port=5432 user=gavel dbname=gavel\" (required)");
ABSL_FLAG(std::string, tokens, "", "file of lines `TOKEN PRINCIPAL ROLE` (required)");
ABSL_FLAG(std::string, data_dir, "var/data", "directory for the server's own files");
ABSL_FLAG(uint32_t, shards, 0,
          "number of engine shards, each a thread owning its auctions (0: one per hardware "
          "thread)");

namespace {

void Log(const std::string& line) {
  std::fprintf(stderr, "%s gavel-server: %s\n",
               absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()).c_str(),
               line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gavel-server --postgres=CONNINFO --tokens=FILE [--listen=127.0.0.1:50051] [--shards=N]");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  gavel::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.postgres = absl::GetFlag(FLAGS_postgres);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.shards = absl::GetFlag(FLAGS_shards);
  const std::string tokens_path = absl::GetFlag(FLAGS_tokens);
  if (tokens_path.empty()) {
    Log("error: --tokens=FILE is required (lines `TOKEN PRINCIPAL ROLE`)");
    return 2;
  }
  if (options.postgres.empty()) {
    Log("error: --postgres=CONNINFO is required: settlements are kept in PostgreSQL");
    return 2;
  }
  if (options.shards == 0) options.shards = std::max(1u, std::thread::hardware_concurrency());
  if (options.shards > 256) {
    Log("error: --shards must be between 1 and 256");
    return 2;
  }
  absl::StatusOr<gavel::TokenTable> tokens = gavel::TokenTable::Load(tokens_path);
  if (!tokens.ok()) {
    Log(absl::StrCat("error: ", tokens.status().message()));
    return 2;
  }
  const size_t token_count = tokens->size();
  absl::StatusOr<std::unique_ptr<gavel::GavelServer>> server =
      gavel::GavelServer::Start(options, *std::move(tokens));
  if (!server.ok()) {
    Log(absl::StrCat("error: ", server.status().message()));
    return 1;
  }
  Log(absl::StrCat("listening on 127.0.0.1:", (*server)->port(), " (", options.listen, "), ",
                   options.shards, " shard(s), ", token_count, " token(s)"));

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    Log(absl::StrCat("received ", sig == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down"));
    (*server)->Shutdown();
  });
  (*server)->Wait();
  signals.join();
  const size_t pending = (*server)->PendingSettlements();
  if (pending > 0) {
    Log(absl::StrCat("stopped with ", pending, " settlement(s) not yet in PostgreSQL"));
    return 1;
  }
  Log("stopped cleanly");
  return 0;
}
