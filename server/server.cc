#include "server/server.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "engine/env.h"
#include "engine/journal_file.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/services.h"
#include "server/store/settlement_writer.h"

namespace gavel {
namespace {

// Hands settlements from the shards to the store's writer (lock-free), and
// marks them SETTLED on their shard once PostgreSQL has committed them.
class SettlementPipeline final : public SettlementSink {
 public:
  // `drain_deadline`: how long Stop keeps trying to write what is queued;
  // the writer's lines go to `log`.
  SettlementPipeline(std::string conninfo, absl::Duration drain_deadline,
                     std::function<void(const std::string&)> log)
      : writer_(std::move(conninfo), WriterOptions(drain_deadline, std::move(log)),
                [this](const std::string& auction_id) { Committed(auction_id); }) {}

  void Attach(Runtime* runtime) { runtime_ = runtime; }
  void Start() { writer_.Start(); }
  void Stop() { writer_.Stop(); }
  size_t Pending() const { return writer_.Pending(); }

  void Submit(std::shared_ptr<const Settlement> settlement) override {
    writer_.Enqueue(*settlement);
  }

 private:
  // On the writer's thread, after commit.
  void Committed(const std::string& auction_id) {
    absl::StatusOr<AuctionId> id = ParseAuctionId(auction_id);
    if (!id.ok() || runtime_ == nullptr) return;
    const AuctionId aid = *id;
    // Marking SETTLED is a view-only change; retry briefly if the ring is
    // full, and give up quietly when the runtime is stopping.
    for (int attempt = 0; attempt < 1000 && !runtime_->stopping(); ++attempt) {
      if (runtime_->Run(runtime_->ForAuction(aid),
                        [aid](ShardContext& c) { c.engine.MarkSettled(aid); })) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  static SettlementWriter::Options WriterOptions(absl::Duration drain_deadline,
                                                 std::function<void(const std::string&)> log) {
    SettlementWriter::Options options;
    options.drain_deadline = drain_deadline;
    options.log = std::move(log);
    return options;
  }

  Runtime* runtime_ = nullptr;
  SettlementWriter writer_;
};

// Journaled names back to ids: interns names the tokens file no longer has.
class InternPrincipals final : public PrincipalResolver {
 public:
  explicit InternPrincipals(Principals* principals) : principals_(principals) {}
  PrincipalId Resolve(absl::string_view name) override { return principals_->Intern(name); }

 private:
  Principals* principals_;
};

// Takes DATA_DIR/LOCK (flock), so that two servers never journal into one
// directory; the lock dies with the process. Returns the descriptor.
absl::StatusOr<int> LockDataDir(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/LOCK");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("the data directory ", dir, " is in use by another gavel-server (", path,
                     " is locked)"));
  }
  return fd;
}

// Whether the directory `shard_dir` holds a journal or a snapshot file
// (false when it does not exist or is not a directory); an error when it
// cannot be listed.
absl::StatusOr<bool> HoldsJournal(const std::filesystem::path& shard_dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(shard_dir, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
    return false;
  }
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    uint64_t n = 0;
    const std::string f = it->path().filename().string();
    if (ParseJournalFileName(f, &n) || ParseSnapshotFileName(f, &n)) return true;
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list ", shard_dir.string(), ": ", ec.message()));
  }
  return false;
}

// Refuses a data directory whose journal was written with more shards: the
// auctions of shard-K (K >= shards) would silently vanish.
absl::Status CheckNoStrayShards(const std::string& dir, uint32_t shards) {
  std::error_code ec;
  std::optional<uint32_t> highest;  // the highest shard index holding a journal
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    absl::string_view name = entry.path().filename().native();
    uint32_t index = 0;
    if (!absl::ConsumePrefix(&name, "shard-") || !absl::SimpleAtoi(name, &index) ||
        index < shards) {
      continue;
    }
    absl::StatusOr<bool> holds = HoldsJournal(entry.path());
    if (!holds.ok()) return holds.status();
    if (*holds) highest = std::max(highest.value_or(0), index);
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  if (highest.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory ", dir, " holds the journal of shard-", *highest,
        " but the server runs ", shards,
        " shard(s): start it with the --shards it was written with, at least --shards=",
        *highest + 1, " (auctions are placed by id modulo the shard count)"));
  }
  return absl::OkStatus();
}

// PostgreSQL's highest auction number as of the last start that reached it,
// kept in the data directory (a decimal line, written to a temporary file,
// synced, renamed into place). A start while PostgreSQL is down numbers new
// auctions above it and above what the journal has numbered since: neither
// alone is enough, since a journal file holds the counters only once the
// shard has created an auction or rolled.
constexpr char kAuctionIdFloorFile[] = "auction-id-floor";

std::string AuctionIdFloorPath(const std::string& dir) {
  return absl::StrCat(dir, "/", kAuctionIdFloorFile);
}

absl::Status SaveAuctionIdFloor(const std::string& dir, uint64_t floor) {
  Env* env = Env::Default();
  const std::string path = AuctionIdFloorPath(dir);
  const std::string temporary = path + ".tmp";
  env->Remove(temporary).IgnoreError();  // a leftover of a start that died here
  absl::StatusOr<std::unique_ptr<WritableFile>> file = env->OpenAppendable(temporary);
  absl::Status st = file.status();
  if (st.ok()) st = (*file)->Append(absl::StrCat(floor, "\n"));
  if (st.ok()) st = (*file)->Sync();
  if (st.ok()) st = (*file)->Close();
  if (st.ok()) st = env->Rename(temporary, path);
  if (st.ok()) st = env->SyncDir(dir);
  if (!st.ok()) {
    return absl::Status(
        st.code(), absl::StrCat("cannot keep the auction id floor in ", path, ": ", st.message()));
  }
  return absl::OkStatus();
}

// The floor SaveAuctionIdFloor kept; NotFound when there is none.
absl::StatusOr<uint64_t> LoadAuctionIdFloor(const std::string& dir) {
  const std::string path = AuctionIdFloorPath(dir);
  absl::StatusOr<std::string> text = Env::Default()->ReadFile(path);
  if (!text.ok()) return text.status();
  uint64_t floor = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &floor)) {
    return absl::DataLossError(absl::StrCat(path, " does not hold a number"));
  }
  return floor;
}

// For each shard below `shards`, whether its directory holds a journal or
// a snapshot file.
absl::StatusOr<std::vector<bool>> ShardsWithJournal(const std::string& dir, uint32_t shards) {
  std::vector<bool> with(shards);
  for (uint32_t i = 0; i < shards; ++i) {
    absl::StatusOr<bool> holds = HoldsJournal(absl::StrCat(dir, "/shard-", i));
    if (!holds.ok()) return holds.status();
    with[i] = *holds;
  }
  return with;
}

// Once auction-id-floor exists, every shard's journal was opened (the floor
// is kept after recovery): a shard without one has lost its files, and
// starting would silently lose every command they held.
// `journals`: ShardsWithJournal.
absl::Status CheckNoShardLostItsJournal(const std::string& dir, const std::vector<bool>& journals) {
  if (!std::filesystem::exists(AuctionIdFloorPath(dir))) {
    return absl::OkStatus();  // never started through recovery with PostgreSQL, or older
  }
  const size_t shards = journals.size();
  std::vector<std::string> with, without;
  size_t prefix = 0;  // shards 0..prefix-1 hold a journal
  for (size_t i = 0; i < shards; ++i) {
    (journals[i] ? with : without).push_back(absl::StrCat("shard-", i));
    if (journals[i] && prefix == i) prefix = i + 1;
  }
  if (without.empty()) return absl::OkStatus();
  if (!with.empty() && prefix == with.size()) {
    // Only the last ones lack a journal: most likely a larger --shards.
    return absl::FailedPreconditionError(
        absl::StrCat("the data directory ", dir, " holds the journals of shard-0 to shard-",
                     prefix - 1, " only, and the server runs ", shards,
                     " shard(s): if it was written with --shards=", prefix,
                     ", start it with that (auctions are placed by id modulo the shard count); "
                     "otherwise the files of ",
                     absl::StrJoin(without, ", "), " are missing: restore them from a backup"));
  }
  if (with.empty()) {
    return absl::DataLossError(absl::StrCat(
        "the data directory ", dir, " holds ", kAuctionIdFloorFile,
        ", so a server ran on it, but no shard's journal is left: its files are missing; restore "
        "them from a backup, or, to start afresh and lose every command not yet in PostgreSQL, "
        "remove the data directory"));
  }
  return absl::DataLossError(absl::StrCat(
      "the data directory ", dir, " holds the journal of ", absl::StrJoin(with, ", "),
      " but none of ", absl::StrJoin(without, ", "),
      ": its files are missing; restore them from a backup (starting without them would lose "
      "every auction and bid they held)"));
}

// A store error for the start-up log: named as PostgreSQL's, once.
std::string StoreErrorText(const absl::Status& status) {
  return absl::StrCat(
      absl::StartsWith(status.message(), "connecting to PostgreSQL") ? "" : "PostgreSQL: ",
      status.message());
}

// --listen: HOST:PORT with a port gRPC can bind (it would take 99999 as
// 34463, the port modulo 65536, without a word).
absl::Status CheckListenAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  const absl::string_view digits =
      colon == absl::string_view::npos ? absl::string_view() : address.substr(colon + 1);
  const bool all_digits =
      !digits.empty() && digits.size() <= 5 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (colon == 0 || !all_digits || !absl::SimpleAtoi(digits, &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: ", QuoteClientText(address),
                     " is not HOST:PORT with a port from 0 to 65535 (like 127.0.0.1:50051)"));
  }
  return absl::OkStatus();
}

// --shard_cpus: one CPU per shard, each one this process may run on, none
// twice (two shards on one core would take turns on it).
absl::Status CheckShardCpus(const std::vector<int>& cpus, uint32_t shards) {
  if (cpus.empty()) return absl::OkStatus();
  if (cpus.size() != shards) {
    return absl::InvalidArgumentError(absl::StrCat("--shard_cpus: gives ", cpus.size(),
                                                   " CPU(s) for ", shards,
                                                   " shard(s); give one per shard"));
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    return absl::InternalError(absl::StrCat("sched_getaffinity: ", std::strerror(errno)));
  }
  cpu_set_t seen;
  CPU_ZERO(&seen);
  for (const int c : cpus) {
    if (c < 0 || c >= CPU_SETSIZE || !CPU_ISSET(c, &allowed)) {
      std::vector<int> usable;
      for (int u = 0; u < CPU_SETSIZE; ++u) {
        if (CPU_ISSET(u, &allowed)) usable.push_back(u);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("--shard_cpus: CPU ", c, " is not one this process may run on (it may use ",
                       absl::StrJoin(usable, ","), ")"));
    }
    if (CPU_ISSET(c, &seen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--shard_cpus: CPU ", c, " is given twice; each shard needs a core of its own"));
    }
    CPU_SET(c, &seen);
  }
  return absl::OkStatus();
}

}  // namespace

struct GavelServer::Impl {
  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);
  }
  void Log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      ServerLog(line);
    }
  }
  // Logs the outbox depth and sets the "gavel.outbox" health status, until
  // the shutdown begins.
  void Monitor();

  ServerOptions options;
  TokenTable tokens;
  SystemClock system_clock;
  int lock_fd = -1;
  std::thread monitor;
  std::atomic<bool> monitor_stop{false};
  std::unique_ptr<SettlementPipeline> pipeline;
  std::unique_ptr<StorePool> store;
  std::unique_ptr<Runtime> runtime;
  // Before the services, which hold them; after the server (declared
  // below), whose streams give their places back when they end.
  std::unique_ptr<StreamLimit> watch_streams;
  std::unique_ptr<StreamLimit> bid_streams;
  std::unique_ptr<SellerServiceImpl> seller;
  std::unique_ptr<BidderServiceImpl> bidder;
  std::unique_ptr<AuctionServiceImpl> auction;
  std::unique_ptr<AuditServiceImpl> audit;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::atomic<bool> shutdown_started{false};
  std::atomic<bool> shutdown_done{false};
};

GavelServer::GavelServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GavelServer::~GavelServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<GavelServer>> GavelServer::Start(ServerOptions options,
                                                                TokenTable tokens) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->tokens = std::move(tokens);
  const Clock* clock = impl->options.clock ? impl->options.clock : &impl->system_clock;

  if (absl::Status st = CheckListenAddress(impl->options.listen); !st.ok()) return st;
  if (absl::Status st = CheckShardCpus(impl->options.shard_cpus, impl->options.shards); !st.ok()) {
    return st;
  }
  const bool journaled = !impl->options.data_dir.empty();
  bool has_journal = false;  // journaled, and every shard's directory holds its journal
  if (journaled) {
    std::error_code ec;
    std::filesystem::create_directories(impl->options.data_dir, ec);
    if (ec) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create the data directory ", impl->options.data_dir, ": ", ec.message()));
    }
    absl::StatusOr<int> fd = LockDataDir(impl->options.data_dir);
    if (!fd.ok()) return fd.status();
    impl->lock_fd = *fd;
    if (absl::Status st = CheckNoStrayShards(impl->options.data_dir, impl->options.shards);
        !st.ok()) {
      return st;
    }
    absl::StatusOr<std::vector<bool>> journals =
        ShardsWithJournal(impl->options.data_dir, impl->options.shards);
    if (!journals.ok()) return journals.status();
    if (absl::Status st = CheckNoShardLostItsJournal(impl->options.data_dir, *journals); !st.ok()) {
      return st;
    }
    has_journal = std::all_of(journals->begin(), journals->end(), [](bool b) { return b; });
  }

  uint64_t auction_id_floor = 0;
  std::optional<uint64_t> floor_to_keep;  // PostgreSQL's, for a later start without it
  if (!impl->options.postgres.empty()) {
    // Apply migrations (and fail clearly) before taking any call.
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(impl->options.postgres);
    // A restart while PostgreSQL is down goes on from the journal, which
    // holds everything the shards need, and numbers new auctions above the
    // floor an earlier start kept; only the first start (no floor kept yet)
    // and a database that answers but refuses (e.g. a failed migration) stop it.
    absl::StatusOr<uint64_t> kept_floor = absl::NotFoundError("not journaled");
    if (!store.ok() && absl::IsUnavailable(store.status()) && has_journal) {
      kept_floor = LoadAuctionIdFloor(impl->options.data_dir);
    }
    const bool start_without_postgres = kept_floor.ok();
    if (start_without_postgres) {
      auction_id_floor = *kept_floor;
      impl->Log(absl::StrCat("WARNING: ", StoreErrorText(store.status()),
                             "; starting from the journal in ", impl->options.data_dir,
                             ": bidding goes on, settlements wait in the outbox until PostgreSQL "
                             "is reachable, and auditor calls answer UNAVAILABLE until then"));
    } else if (!store.ok()) {
      std::string message = StoreErrorText(store.status());
      if (absl::IsUnavailable(store.status())) {
        if (has_journal && absl::IsNotFound(kept_floor.status())) {
          absl::StrAppend(&message, "; the data directory holds a journal but no ",
                          kAuctionIdFloorFile,
                          " (each start that reaches PostgreSQL keeps it there; one written by an "
                          "earlier version has none), so it cannot tell which auction ids "
                          "PostgreSQL holds: start once with PostgreSQL reachable");
        } else if (has_journal) {
          absl::StrAppend(&message, "; ", kept_floor.status().message(),
                          ": start once with PostgreSQL reachable");
        } else {
          absl::StrAppend(
              &message,
              journaled ? "; the first start on a data directory" : "; a server without --data_dir",
              " needs PostgreSQL (new auction ids continue above the highest it holds), "
              "a restart on a journaled --data_dir goes on without it");
        }
      }
      return absl::Status(store.status().code(), message);
    } else {
      absl::StatusOr<uint64_t> highest = (*store)->HighestAuctionNumber();
      if (!highest.ok()) {
        return absl::Status(highest.status().code(), StoreErrorText(highest.status()));
      }
      auction_id_floor = *highest;
      if (journaled) floor_to_keep = auction_id_floor;
      absl::StatusOr<std::vector<std::string>> warnings = (*store)->DatabaseSettingsWarnings();
      if (warnings.ok()) {
        for (const std::string& w : *warnings) impl->Log(absl::StrCat("WARNING: ", w));
      }
    }
    impl->store = std::make_unique<StorePool>(impl->options.postgres);
    // Stop drains the writer after the shards have stopped: with a journal,
    // what is left is in it and is written at the next start, so a stop
    // waits a moment, not the writer's 10 s (which a server without a
    // journal needs, or it loses them).
    impl->pipeline = std::make_unique<SettlementPipeline>(
        impl->options.postgres,
        journaled ? absl::Seconds(1) : SettlementWriter::Options().drain_deadline,
        [self = impl.get()](const std::string& line) { self->Log(line); });
  }
  RuntimeOptions ro;
  ro.shards = impl->options.shards;
  ro.ring_capacity = impl->options.ring_capacity;
  ro.spin_before_park = impl->options.shard_spin;
  ro.shard_cpus = impl->options.shard_cpus;
  ro.auction_id_floor = auction_id_floor;
  ro.data_dir = impl->options.data_dir;
  ro.journal = impl->options.journal;
  Impl* raw = impl.get();
  ro.log = [raw](const std::string& line) { raw->Log(line); };
  ro.on_journal_failure = impl->options.on_journal_failure;
  impl->runtime = std::make_unique<Runtime>(std::move(ro), clock, &impl->tokens.principals(),
                                            impl->pipeline.get());
  if (impl->pipeline) impl->pipeline->Attach(impl->runtime.get());
  if (journaled) {
    // Before serving: replay each shard's snapshot and journal. The outbox
    // (closed auctions PostgreSQL has not confirmed) goes to the writer.
    InternPrincipals resolver(&impl->tokens.mutable_principals());
    absl::StatusOr<std::vector<ShardRecovery>> recovered = impl->runtime->Recover(&resolver);
    if (!recovered.ok()) {
      return absl::Status(recovered.status().code(),
                          absl::StrCat("recovery of ", impl->options.data_dir, " failed: ",
                                       recovered.status().message()));
    }
  }
  // After recovery, which removes what failed writes left behind (on a full
  // disk, the room this needs; though it also opens each shard's next
  // journal file, reserved ahead), and once every shard's journal exists:
  // CheckNoShardLostItsJournal relies on that order.
  if (floor_to_keep.has_value()) {
    if (absl::Status st = SaveAuctionIdFloor(impl->options.data_dir, *floor_to_keep); !st.ok()) {
      return st;
    }
  }
  if (impl->pipeline) impl->pipeline->Start();
  impl->runtime->Start();

  // After recovery, which interns the principals the journal names.
  const size_t principals = impl->tokens.principals().size();
  impl->watch_streams = std::make_unique<StreamLimit>(StreamLimit::Options{
      impl->options.max_watch_streams, impl->options.max_watch_streams_per_principal, principals,
      "watch streams", "--max_watch_streams", "--max_watch_streams_per_principal"});
  impl->bid_streams = std::make_unique<StreamLimit>(StreamLimit::Options{
      impl->options.max_bid_streams, impl->options.max_bid_streams_per_principal, principals,
      "bid streams", "--max_bid_streams", "--max_bid_streams_per_principal"});
  ServiceContext ctx{&impl->tokens, impl->runtime.get(), impl->store.get(),
                     impl->watch_streams.get(), impl->bid_streams.get()};
  impl->seller = std::make_unique<SellerServiceImpl>(ctx);
  impl->bidder = std::make_unique<BidderServiceImpl>(ctx);
  impl->auction = std::make_unique<AuctionServiceImpl>(ctx);
  impl->audit = std::make_unique<AuditServiceImpl>(ctx);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(impl->options.listen, grpc::InsecureServerCredentials(), &impl->port);
  builder.RegisterService(impl->seller.get());
  builder.RegisterService(impl->bidder.get());
  builder.RegisterService(impl->auction.get());
  builder.RegisterService(impl->audit.get());
  builder.SetMaxReceiveMessageSize(1 << 20);
  // gRPC sets SO_REUSEPORT by default: a second server on the same port would
  // start and take half the connections, with its own engine.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    impl->runtime->Stop();
    if (impl->pipeline) impl->pipeline->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", impl->options.listen,
                     ": the port is in use, or the host is not an address of this machine"));
  }
  if (auto* health = impl->server->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  impl->monitor = std::thread([raw] { raw->Monitor(); });
  return std::unique_ptr<GavelServer>(new GavelServer(std::move(impl)));
}

void GavelServer::Impl::Monitor() {
  constexpr char kOutboxService[] = "gavel.outbox";
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  bool serving = true;
  if (health != nullptr) health->SetServingStatus(kOutboxService, true);
  absl::Time next_log = absl::Now() + options.outbox_log_interval;
  size_t last_logged = 0;
  while (!monitor_stop.load(std::memory_order_acquire)) {
    absl::SleepFor(absl::Milliseconds(100));
    const size_t pending = pipeline ? pipeline->Pending() : 0;
    const bool ok = pending <= options.outbox_alarm;
    if (ok != serving && health != nullptr) {
      health->SetServingStatus(kOutboxService, ok);
      serving = ok;
      Log(absl::StrCat("outbox: ", pending, " settlement(s) wait for PostgreSQL; health ",
                       kOutboxService, " is ", ok ? "SERVING" : "NOT_SERVING", " (alarm above ",
                       options.outbox_alarm, ")"));
    }
    if (absl::Now() >= next_log) {
      next_log = absl::Now() + options.outbox_log_interval;
      if (pending > 0 || last_logged > 0) {
        Log(absl::StrCat("outbox: ", pending, " settlement(s) wait for PostgreSQL"));
      }
      last_logged = pending;
    }
  }
}

int GavelServer::port() const { return impl_->port; }

size_t GavelServer::PendingSettlements() const {
  return impl_->pipeline ? impl_->pipeline->Pending() : 0;
}

Runtime& GavelServer::runtime_for_test() { return *impl_->runtime; }

void GavelServer::Shutdown() {
  if (impl_->shutdown_started.exchange(true)) {
    Wait();
    return;
  }
  if (auto* health = impl_->server->GetHealthCheckService()) health->SetServingStatus(false);
  // Watch streams end now, each told where to resume; bid streams end at
  // the next request they read, which is not placed (they name it); in-flight
  // unary calls complete on their shards; streams still open after the grace
  // period are cancelled.
  impl_->runtime->BeginDrain();
  impl_->runtime->feed_hub().StopReaders();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (impl_->pipeline && impl_->runtime->journaled()) {
    // While the shards still run, give the writer a moment to commit what is
    // queued, so that the snapshot drops those auctions. What is left stays
    // in the journal's outbox for the next start.
    const absl::Time deadline = absl::Now() + absl::Seconds(2);
    while (impl_->pipeline->Pending() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  impl_->runtime->Stop();
  if (impl_->pipeline) impl_->pipeline->Stop();
  impl_->monitor_stop.store(true, std::memory_order_release);
  if (impl_->monitor.joinable()) impl_->monitor.join();
  impl_->shutdown_done.store(true, std::memory_order_release);
  impl_->shutdown_done.notify_all();
}

void GavelServer::Wait() {
  impl_->shutdown_done.wait(false, std::memory_order_acquire);
}

void ServerLog(const std::string& line) {
  const std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()),
                   " gavel-server: ", line, "\n");
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace gavel
