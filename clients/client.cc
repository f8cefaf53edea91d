#include "clients/client.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace gavel::client {

namespace {
// No receive limit (gRPC's default is 4 MiB): list pages stay below it,
// but one settlement carries its whole bid log, about 100 bytes a bid.
std::shared_ptr<grpc::Channel> ChannelTo(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}
}  // namespace

GavelClient::GavelClient(const std::string& target, std::string token,
                         std::optional<absl::Duration> deadline)
    : GavelClient(ChannelTo(target), std::move(token), deadline) {}

GavelClient::GavelClient(std::shared_ptr<grpc::ChannelInterface> channel, std::string token,
                         std::optional<absl::Duration> deadline)
    : channel_(std::move(channel)),
      authorization_(token.empty() ? std::string() : absl::StrCat("Bearer ", token)),
      deadline_(deadline),
      seller_(v1::SellerService::NewStub(channel_)),
      bidder_(v1::BidderService::NewStub(channel_)),
      auction_(v1::AuctionService::NewStub(channel_)),
      audit_(v1::AuditService::NewStub(channel_)) {}

void GavelClient::Prepare(grpc::ClientContext* context, bool unary) const {
  if (!authorization_.empty()) context->AddMetadata("authorization", authorization_);
  if (unary && deadline_.has_value() && *deadline_ != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + *deadline_));
  }
}

grpc::Status GavelClient::CreateAuction(const v1::CreateAuctionRequest& request,
                                        v1::Auction* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return seller_->CreateAuction(&context, request, response);
}

grpc::Status GavelClient::CancelAuction(const v1::CancelAuctionRequest& request,
                                        v1::Auction* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return seller_->CancelAuction(&context, request, response);
}

grpc::Status GavelClient::ListMyAuctions(const v1::ListMyAuctionsRequest& request,
                                         v1::ListAuctionsResponse* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return seller_->ListMyAuctions(&context, request, response);
}

grpc::Status GavelClient::PlaceBid(const v1::PlaceBidRequest& request,
                                   v1::PlaceBidResponse* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return bidder_->PlaceBid(&context, request, response);
}

grpc::Status GavelClient::CancelBid(const v1::CancelBidRequest& request,
                                    v1::CancelBidResponse* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return bidder_->CancelBid(&context, request, response);
}

grpc::Status GavelClient::GetAuction(const v1::GetAuctionRequest& request, v1::Auction* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return auction_->GetAuction(&context, request, response);
}

grpc::Status GavelClient::ListAuctions(const v1::ListAuctionsRequest& request,
                                       v1::ListAuctionsResponse* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return auction_->ListAuctions(&context, request, response);
}

grpc::Status GavelClient::WatchAuction(const v1::WatchAuctionRequest& request,
                                       const EventCallback& on_event) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/false);
  std::unique_ptr<grpc::ClientReader<v1::AuctionEvent>> reader =
      auction_->WatchAuction(&context, request);
  v1::AuctionEvent event;
  bool stopped = false;
  while (reader->Read(&event)) {
    if (!on_event(event)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  // Our own cancellation reports CANCELLED; the caller asked for it.
  return stopped ? grpc::Status::OK : status;
}

grpc::Status GavelClient::ListSettlements(const v1::ListSettlementsRequest& request,
                                          v1::ListSettlementsResponse* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return audit_->ListSettlements(&context, request, response);
}

grpc::Status GavelClient::GetSettlement(const v1::GetSettlementRequest& request,
                                        v1::Settlement* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return audit_->GetSettlement(&context, request, response);
}

grpc::Status GavelClient::VerifySettlement(const v1::VerifySettlementRequest& request,
                                           v1::VerifySettlementResponse* response) {
  grpc::ClientContext context;
  Prepare(&context, /*unary=*/true);
  return audit_->VerifySettlement(&context, request, response);
}

}  // namespace gavel::client
