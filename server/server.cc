#include "server/server.h"

#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  explicit SettlementPipeline(std::string conninfo)
      : writer_(std::move(conninfo), SettlementWriter::Options(),
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

  Runtime* runtime_ = nullptr;
  SettlementWriter writer_;
};

}  // namespace

struct GavelServer::Impl {
  ServerOptions options;
  TokenTable tokens;
  SystemClock system_clock;
  std::unique_ptr<SettlementPipeline> pipeline;
  std::unique_ptr<StorePool> store;
  std::unique_ptr<Runtime> runtime;
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

  uint64_t auction_id_floor = 0;
  if (!impl->options.postgres.empty()) {
    // Apply migrations (and fail clearly) before taking any call.
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(impl->options.postgres);
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("PostgreSQL: ", store.status().message()));
    }
    absl::StatusOr<uint64_t> highest = (*store)->HighestAuctionNumber();
    if (!highest.ok()) {
      return absl::Status(highest.status().code(),
                          absl::StrCat("PostgreSQL: ", highest.status().message()));
    }
    auction_id_floor = *highest;
    absl::StatusOr<std::vector<std::string>> warnings = (*store)->DatabaseSettingsWarnings();
    if (warnings.ok()) {
      for (const std::string& w : *warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
    }
    impl->store = std::make_unique<StorePool>(impl->options.postgres);
    impl->pipeline = std::make_unique<SettlementPipeline>(impl->options.postgres);
  }
  impl->runtime = std::make_unique<Runtime>(
      RuntimeOptions{impl->options.shards, impl->options.ring_capacity, auction_id_floor}, clock,
      &impl->tokens.principals(), impl->pipeline.get());
  if (impl->pipeline) {
    impl->pipeline->Attach(impl->runtime.get());
    impl->pipeline->Start();
  }
  impl->runtime->Start();

  ServiceContext ctx{&impl->tokens, impl->runtime.get(), impl->store.get()};
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
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    impl->runtime->Stop();
    if (impl->pipeline) impl->pipeline->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", impl->options.listen, " (address in use?)"));
  }
  if (auto* health = impl->server->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  return std::unique_ptr<GavelServer>(new GavelServer(std::move(impl)));
}

int GavelServer::port() const { return impl_->port; }

size_t GavelServer::PendingSettlements() const {
  return impl_->pipeline ? impl_->pipeline->Pending() : 0;
}

void GavelServer::Shutdown() {
  if (impl_->shutdown_started.exchange(true)) {
    Wait();
    return;
  }
  if (auto* health = impl_->server->GetHealthCheckService()) health->SetServingStatus(false);
  // In-flight unary calls complete on their shards; watch streams that are
  // still open after the grace period are cancelled.
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->runtime->Stop();
  if (impl_->pipeline) impl_->pipeline->Stop();
  impl_->shutdown_done.store(true, std::memory_order_release);
  impl_->shutdown_done.notify_all();
}

void GavelServer::Wait() {
  impl_->shutdown_done.wait(false, std::memory_order_acquire);
}

}  // namespace gavel
