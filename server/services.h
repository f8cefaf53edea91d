// The gRPC services: thin adapters from the wire to the engine runtime
// (seller, bidder, auction) and to PostgreSQL (audit). Each service is a
// final class; the engine-facing ones use the callback API and complete
// their RPCs from the shard thread, so no handler thread waits or locks.
#ifndef GAVEL_SERVER_SERVICES_H_
#define GAVEL_SERVER_SERVICES_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "server/auth.h"
#include "server/runtime.h"
#include "server/store_pool.h"
#include "server/stream_limit.h"

namespace gavel {

// What every service shares. Outlives the services.
struct ServiceContext {
  const TokenTable* tokens = nullptr;
  Runtime* runtime = nullptr;
  StorePool* store = nullptr;  // null: no database configured
  StreamLimit* watch_streams = nullptr;
  StreamLimit* bid_streams = nullptr;
};

class SellerServiceImpl final : public v1::SellerService::CallbackService {
 public:
  explicit SellerServiceImpl(ServiceContext ctx) : ctx_(ctx) {}
  grpc::ServerUnaryReactor* CreateAuction(grpc::CallbackServerContext* context,
                                          const v1::CreateAuctionRequest* request,
                                          v1::Auction* response) override;
  grpc::ServerUnaryReactor* CancelAuction(grpc::CallbackServerContext* context,
                                          const v1::CancelAuctionRequest* request,
                                          v1::Auction* response) override;
  grpc::ServerUnaryReactor* ListMyAuctions(grpc::CallbackServerContext* context,
                                           const v1::ListMyAuctionsRequest* request,
                                           v1::ListAuctionsResponse* response) override;

 private:
  ServiceContext ctx_;
};

class BidderServiceImpl final : public v1::BidderService::CallbackService {
 public:
  explicit BidderServiceImpl(ServiceContext ctx) : ctx_(ctx) {}
  grpc::ServerUnaryReactor* PlaceBid(grpc::CallbackServerContext* context,
                                     const v1::PlaceBidRequest* request,
                                     v1::PlaceBidResponse* response) override;
  grpc::ServerBidiReactor<v1::PlaceBidRequest, v1::PlaceBidResponse>* BidStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* CancelBid(grpc::CallbackServerContext* context,
                                      const v1::CancelBidRequest* request,
                                      v1::CancelBidResponse* response) override;

 private:
  ServiceContext ctx_;
};

class AuctionServiceImpl final : public v1::AuctionService::CallbackService {
 public:
  explicit AuctionServiceImpl(ServiceContext ctx) : ctx_(ctx) {}
  grpc::ServerUnaryReactor* GetAuction(grpc::CallbackServerContext* context,
                                       const v1::GetAuctionRequest* request,
                                       v1::Auction* response) override;
  grpc::ServerUnaryReactor* ListAuctions(grpc::CallbackServerContext* context,
                                         const v1::ListAuctionsRequest* request,
                                         v1::ListAuctionsResponse* response) override;
  grpc::ServerWriteReactor<v1::AuctionEvent>* WatchAuction(
      grpc::CallbackServerContext* context, const v1::WatchAuctionRequest* request) override;

 private:
  ServiceContext ctx_;
};

// Synchronous service: its calls block on PostgreSQL, so they run on gRPC's
// sync thread pool, away from the callback threads of the bid path.
class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(ServiceContext ctx) : ctx_(ctx) {}
  grpc::Status ListSettlements(grpc::ServerContext* context,
                               const v1::ListSettlementsRequest* request,
                               v1::ListSettlementsResponse* response) override;
  grpc::Status GetSettlement(grpc::ServerContext* context, const v1::GetSettlementRequest* request,
                             v1::Settlement* response) override;
  grpc::Status VerifySettlement(grpc::ServerContext* context,
                                const v1::VerifySettlementRequest* request,
                                v1::VerifySettlementResponse* response) override;

 private:
  // Checks the auditor role and the id, loads the settlement from
  // PostgreSQL and hands it to `use`.
  grpc::Status WithSettlement(grpc::ServerContext* context, const std::string& auction_id,
                              absl::FunctionRef<void(const Settlement&)> use);

  ServiceContext ctx_;
};

}  // namespace gavel

#endif  // GAVEL_SERVER_SERVICES_H_
