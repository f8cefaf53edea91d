// GavelClient: a small synchronous C++ client for the Gavel gRPC API
// (proto/gavel/v1/gavel.proto). One channel, one method per RPC.
#ifndef GAVEL_CLIENTS_CLIENT_H_
#define GAVEL_CLIENTS_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "gavel/v1/gavel.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace gavel::client {

// Calls the Gavel services over one channel.
//
// Every call sends the metadata `authorization: Bearer <token>` (none when the
// token is empty; the server then answers UNAUTHENTICATED). Unary calls carry
// the deadline given at construction; WatchAuction does not, since a watch
// lasts as long as the auction. Each method returns the RPC's status; the
// response is meaningful only when that status is OK. Calls do not wait for
// the server to become reachable: an unreachable server is UNAVAILABLE at once.
//
// Thread safety: the client holds no mutable state; concurrent calls are safe.
class GavelClient {
 public:
  // Connects to `target` ("127.0.0.1:50051") with insecure channel
  // credentials. `deadline`: the time each unary call may take; nullopt or an
  // infinite duration: no deadline.
  GavelClient(const std::string& target, std::string token,
              std::optional<absl::Duration> deadline = std::nullopt);
  // Uses `channel` as given (TLS credentials, an in-process server, tests).
  GavelClient(std::shared_ptr<grpc::ChannelInterface> channel, std::string token,
              std::optional<absl::Duration> deadline = std::nullopt);

  // SellerService.
  grpc::Status CreateAuction(const v1::CreateAuctionRequest& request, v1::Auction* response);
  grpc::Status CancelAuction(const v1::CancelAuctionRequest& request, v1::Auction* response);
  grpc::Status ListMyAuctions(const v1::ListMyAuctionsRequest& request,
                              v1::ListAuctionsResponse* response);

  // BidderService. A bid the rules refuse is OK with outcome REJECTED.
  grpc::Status PlaceBid(const v1::PlaceBidRequest& request, v1::PlaceBidResponse* response);
  grpc::Status CancelBid(const v1::CancelBidRequest& request, v1::CancelBidResponse* response);

  // AuctionService.
  grpc::Status GetAuction(const v1::GetAuctionRequest& request, v1::Auction* response);
  grpc::Status ListAuctions(const v1::ListAuctionsRequest& request,
                            v1::ListAuctionsResponse* response);

  // Receives one event; returns false to stop watching.
  using EventCallback = std::function<bool(const v1::AuctionEvent&)>;
  // Streams the auction's events to `on_event`, in order, on the calling
  // thread, and blocks until the stream ends. Returns the stream's final
  // status: OK when the server ended it (after the close event) or when
  // `on_event` returned false; otherwise the error (NOT_FOUND, a dropped slow
  // watcher, UNAVAILABLE, ...).
  grpc::Status WatchAuction(const v1::WatchAuctionRequest& request, const EventCallback& on_event);

  // AuditService.
  grpc::Status ListSettlements(const v1::ListSettlementsRequest& request,
                               v1::ListSettlementsResponse* response);
  grpc::Status GetSettlement(const v1::GetSettlementRequest& request, v1::Settlement* response);
  grpc::Status VerifySettlement(const v1::VerifySettlementRequest& request,
                                v1::VerifySettlementResponse* response);

 private:
  // Adds the token and, for unary calls, the deadline.
  void Prepare(grpc::ClientContext* context, bool unary) const;

  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::string authorization_;  // "Bearer <token>", empty when there is no token
  std::optional<absl::Duration> deadline_;
  std::unique_ptr<v1::SellerService::Stub> seller_;
  std::unique_ptr<v1::BidderService::Stub> bidder_;
  std::unique_ptr<v1::AuctionService::Stub> auction_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

}  // namespace gavel::client

#endif  // GAVEL_CLIENTS_CLIENT_H_
