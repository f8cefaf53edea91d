// An in-process stand-in for the Gavel server, for client and CLI tests.
// Each RPC calls the handler the test set (UNIMPLEMENTED when none) and
// records the caller's authorization metadata and deadline.
#ifndef GAVEL_TESTS_CLIENTS_FAKE_GAVEL_H_
#define GAVEL_TESTS_CLIENTS_FAKE_GAVEL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace gavel::testing {

template <typename Request, typename Response>
using Handler = std::function<grpc::Status(const Request&, Response*)>;

struct FakeHandlers {
  Handler<v1::CreateAuctionRequest, v1::Auction> create_auction;
  Handler<v1::CancelAuctionRequest, v1::Auction> cancel_auction;
  Handler<v1::ListMyAuctionsRequest, v1::ListAuctionsResponse> list_my_auctions;
  Handler<v1::PlaceBidRequest, v1::PlaceBidResponse> place_bid;
  Handler<v1::CancelBidRequest, v1::CancelBidResponse> cancel_bid;
  Handler<v1::GetAuctionRequest, v1::Auction> get_auction;
  Handler<v1::ListAuctionsRequest, v1::ListAuctionsResponse> list_auctions;
  // Fills the events to stream; the returned status ends the stream.
  Handler<v1::WatchAuctionRequest, std::vector<v1::AuctionEvent>> watch_auction;
  Handler<v1::ListSettlementsRequest, v1::ListSettlementsResponse> list_settlements;
  Handler<v1::GetSettlementRequest, v1::Settlement> get_settlement;
  Handler<v1::VerifySettlementRequest, v1::VerifySettlementResponse> verify_settlement;
};

// What the server saw of one call.
struct CallRecord {
  std::string method;         // "GetAuction"
  std::string authorization;  // the metadata value, "" when absent
  bool has_deadline = false;
  std::chrono::system_clock::duration deadline_left{};  // when has_deadline
};

class FakeGavel {
 public:
  // Starts the server; set `handlers` before making calls.
  FakeGavel();
  ~FakeGavel();

  FakeHandlers handlers;

  // A channel to this server (in-process, no network).
  std::shared_ptr<grpc::Channel> Channel();
  // The calls seen so far, oldest first.
  std::vector<CallRecord> Calls();

  // Services call these; public for the service classes in the .cc.
  void Record(const char* method, const grpc::ServerContext& context);

 private:
  struct Services;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::vector<CallRecord> calls_;
};

}  // namespace gavel::testing

#endif  // GAVEL_TESTS_CLIENTS_FAKE_GAVEL_H_
