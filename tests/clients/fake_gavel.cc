#include "fake_gavel.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gavel::testing {
namespace {

template <typename Request, typename Response>
grpc::Status Dispatch(FakeGavel* fake, const char* method, grpc::ServerContext* context,
                      const Handler<Request, Response>& handler, const Request* request,
                      Response* response) {
  fake->Record(method, *context);
  if (!handler) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, method);
  return handler(*request, response);
}

class Seller final : public v1::SellerService::Service {
 public:
  explicit Seller(FakeGavel* fake) : fake_(fake) {}
  grpc::Status CreateAuction(grpc::ServerContext* c, const v1::CreateAuctionRequest* r,
                             v1::Auction* a) override {
    return Dispatch(fake_, "CreateAuction", c, fake_->handlers.create_auction, r, a);
  }
  grpc::Status CancelAuction(grpc::ServerContext* c, const v1::CancelAuctionRequest* r,
                             v1::Auction* a) override {
    return Dispatch(fake_, "CancelAuction", c, fake_->handlers.cancel_auction, r, a);
  }
  grpc::Status ListMyAuctions(grpc::ServerContext* c, const v1::ListMyAuctionsRequest* r,
                              v1::ListAuctionsResponse* a) override {
    return Dispatch(fake_, "ListMyAuctions", c, fake_->handlers.list_my_auctions, r, a);
  }

 private:
  FakeGavel* fake_;
};

class Bidder final : public v1::BidderService::Service {
 public:
  explicit Bidder(FakeGavel* fake) : fake_(fake) {}
  grpc::Status PlaceBid(grpc::ServerContext* c, const v1::PlaceBidRequest* r,
                        v1::PlaceBidResponse* a) override {
    return Dispatch(fake_, "PlaceBid", c, fake_->handlers.place_bid, r, a);
  }
  grpc::Status CancelBid(grpc::ServerContext* c, const v1::CancelBidRequest* r,
                         v1::CancelBidResponse* a) override {
    return Dispatch(fake_, "CancelBid", c, fake_->handlers.cancel_bid, r, a);
  }

 private:
  FakeGavel* fake_;
};

class Auctions final : public v1::AuctionService::Service {
 public:
  explicit Auctions(FakeGavel* fake) : fake_(fake) {}
  grpc::Status GetAuction(grpc::ServerContext* c, const v1::GetAuctionRequest* r,
                          v1::Auction* a) override {
    return Dispatch(fake_, "GetAuction", c, fake_->handlers.get_auction, r, a);
  }
  grpc::Status ListAuctions(grpc::ServerContext* c, const v1::ListAuctionsRequest* r,
                            v1::ListAuctionsResponse* a) override {
    return Dispatch(fake_, "ListAuctions", c, fake_->handlers.list_auctions, r, a);
  }
  grpc::Status WatchAuction(grpc::ServerContext* c, const v1::WatchAuctionRequest* r,
                            grpc::ServerWriter<v1::AuctionEvent>* writer) override {
    std::vector<v1::AuctionEvent> events;
    grpc::Status status =
        Dispatch(fake_, "WatchAuction", c, fake_->handlers.watch_auction, r, &events);
    for (const v1::AuctionEvent& e : events) {
      if (!writer->Write(e)) break;  // the client went away
    }
    return status;
  }

 private:
  FakeGavel* fake_;
};

class Audit final : public v1::AuditService::Service {
 public:
  explicit Audit(FakeGavel* fake) : fake_(fake) {}
  grpc::Status ListSettlements(grpc::ServerContext* c, const v1::ListSettlementsRequest* r,
                               v1::ListSettlementsResponse* a) override {
    return Dispatch(fake_, "ListSettlements", c, fake_->handlers.list_settlements, r, a);
  }
  grpc::Status GetSettlement(grpc::ServerContext* c, const v1::GetSettlementRequest* r,
                             v1::Settlement* a) override {
    return Dispatch(fake_, "GetSettlement", c, fake_->handlers.get_settlement, r, a);
  }
  grpc::Status VerifySettlement(grpc::ServerContext* c, const v1::VerifySettlementRequest* r,
                                v1::VerifySettlementResponse* a) override {
    return Dispatch(fake_, "VerifySettlement", c, fake_->handlers.verify_settlement, r, a);
  }

 private:
  FakeGavel* fake_;
};

}  // namespace

struct FakeGavel::Services {
  explicit Services(FakeGavel* fake) : seller(fake), bidder(fake), auctions(fake), audit(fake) {}
  Seller seller;
  Bidder bidder;
  Auctions auctions;
  Audit audit;
};

FakeGavel::FakeGavel() : services_(std::make_unique<Services>(this)) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&services_->seller);
  builder.RegisterService(&services_->bidder);
  builder.RegisterService(&services_->auctions);
  builder.RegisterService(&services_->audit);
  server_ = builder.BuildAndStart();
}

FakeGavel::~FakeGavel() { server_->Shutdown(); }

std::shared_ptr<grpc::Channel> FakeGavel::Channel() {
  return server_->InProcessChannel(grpc::ChannelArguments());
}

std::vector<CallRecord> FakeGavel::Calls() {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void FakeGavel::Record(const char* method, const grpc::ServerContext& context) {
  CallRecord record;
  record.method = method;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    record.authorization = std::string(it->second.data(), it->second.size());
  }
  const auto deadline = context.deadline();
  record.has_deadline = deadline != std::chrono::system_clock::time_point::max();
  if (record.has_deadline) record.deadline_left = deadline - std::chrono::system_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(std::move(record));
}

}  // namespace gavel::testing
