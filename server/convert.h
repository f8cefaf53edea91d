// Conversions between the wire types (gavel.v1) and the engine's types, and
// between absl::Status and grpc::Status. The one place that knows both.
#ifndef GAVEL_SERVER_CONVERT_H_
#define GAVEL_SERVER_CONVERT_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/auction.h"
#include "engine/engine.h"
#include "engine/settlement.h"
#include "gavel/v1/gavel.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"

namespace gavel {

// The longest status message the server sends; ToGrpc cuts longer ones
// (gRPC refuses trailers over 8 KiB, and the client would then see only
// RESOURCE_EXHAUSTED about metadata instead of the error).
inline constexpr size_t kMaxStatusMessageBytes = 1024;

// The same code and message, the message cut to kMaxStatusMessageBytes.
grpc::Status ToGrpc(const absl::Status& status);

// The most a list page (ListAuctions, ListMyAuctions, ListSettlements)
// holds in bytes: below gRPC's default 4 MiB receive limit, which every
// client has unless it raises it. A page that would pass it ends early, with
// a next_page_token.
inline constexpr size_t kMaxPageBytes = size_t{3} << 20;

// Keeps the first of `items` that fit in `max_bytes` (always at least one)
// and drops the rest; how many were kept.
template <typename T>
int KeepWhatFits(google::protobuf::RepeatedPtrField<T>* items, size_t max_bytes = kMaxPageBytes) {
  size_t bytes = 0;
  for (int i = 0; i < items->size(); ++i) {
    bytes += items->Get(i).ByteSizeLong() + 6;  // with its field tag and length
    if (bytes > max_bytes && i > 0) {
      items->DeleteSubrange(i, items->size() - i);
      return i;
    }
  }
  return items->size();
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromProto(const google::protobuf::Timestamp& t);
// `t` as a time, or INVALID_ARGUMENT naming `field` when it is not a valid
// google.protobuf.Timestamp (years 0001..9999, nanos 0..999999999).
absl::StatusOr<absl::Time> CheckedTime(absl::string_view field,
                                       const google::protobuf::Timestamp& t);
void ToProto(absl::Duration d, google::protobuf::Duration* out);
absl::Duration FromProto(const google::protobuf::Duration& d);

// A mutating request's idempotency key `field`: required, at most 128 bytes
// (InvalidArgument naming the field).
absl::Status CheckIdempotencyKey(absl::string_view field, absl::string_view key);
// The checks of a bid that need no engine state (InvalidArgument naming the
// field); the auction it names. PlaceBid and BidStream both use it.
absl::StatusOr<AuctionId> CheckBidRequest(const v1::PlaceBidRequest& req);
// The engine's command for a request CheckBidRequest accepted, for
// `bidder`; its client_bid_id views the request's, and its key_hash is
// computed here (on the thread that read the request, not the shard's).
PlaceBidCommand BidCommandFromRequest(const v1::PlaceBidRequest& req, AuctionId auction_id,
                                      PrincipalId bidder);

// Checks the request's fields (InvalidArgument naming the first bad field)
// and resolves relative times against `now` into an absolute spec. The
// engine validates the rules of the format itself.
absl::Status SpecFromRequest(const v1::CreateAuctionRequest& req, absl::Time now,
                             AuctionSpec* spec);

void SpecToProto(const AuctionSpec& spec, v1::AuctionSpec* out);
void ViewToProto(const AuctionView& view, const PrincipalNames& names, v1::Auction* out);
void EventToProto(const AuctionEvent& event, const PrincipalNames& names, v1::AuctionEvent* out);
void SettlementToProto(const Settlement& s, bool with_bids, v1::Settlement* out);
// The answer to `cmd` (its key is echoed; its immediate_or_cancel flag
// words a double-continuous order's message).
void BidResultToProto(const BidResult& r, const PlaceBidCommand& cmd, v1::PlaceBidResponse* out);

}  // namespace gavel

#endif  // GAVEL_SERVER_CONVERT_H_
