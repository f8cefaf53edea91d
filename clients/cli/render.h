// Human-readable output of the `gavel` command line: auctions, settlements,
// bid results and watch events. Amounts go through FormatAmount in the
// auction's currency, times are UTC RFC 3339 to the second, and states,
// formats and outcomes are the lower-case words the flags accept.
#ifndef GAVEL_CLIENTS_CLI_RENDER_H_
#define GAVEL_CLIENTS_CLI_RENDER_H_

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "gavel/v1/gavel.pb.h"

namespace gavel::cli {

// One auction as key/value lines; `extra` rows (such as the request id) go last.
void PrintAuction(const v1::Auction& auction, std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& extra = {});
// Auctions as a table; "no auctions" when there are none.
void PrintAuctionTable(const google::protobuf::RepeatedPtrField<v1::Auction>& auctions,
                       std::ostream& out);

// A settlement: summary, winners, trades and the full bid log with hashes.
void PrintSettlement(const v1::Settlement& settlement, std::ostream& out);
// Settlement summaries as a table; "no settlements" when there are none.
void PrintSettlementTable(const google::protobuf::RepeatedPtrField<v1::Settlement>& settlements,
                          std::ostream& out);

// The first line answers the question, for people and for grep:
// "ACCEPTED: you are leading at 12.50 EUR (bid A3-2)" or
// "REJECTED (BID_TOO_LOW): <server message>". An accepted bid that is not
// leading adds the server's message on an indented second line. `request` is
// the bid sent and `auction` the auction it went to (currency and format).
std::string BidResult(const v1::PlaceBidRequest& request, const v1::PlaceBidResponse& response,
                      const v1::Auction& auction);
// For a double-auction order: "ACCEPTED: buy 10 @ 12.50 EUR (order A3-7): filled 4,
// 6 resting", then one "  fill ..." line per fill; or the REJECTED line.
std::string OrderResult(const v1::PlaceBidRequest& request, const v1::PlaceBidResponse& response,
                        const std::string& currency);

// "#12 09:14:03 bid accepted: 15.00 EUR, leader bob (3 bids)",
// "#14 09:14:20 extended to 2024-05-01T09:15:20Z",
// "#16 09:15:20 closed: SOLD to bob at 15.00 EUR". No newline.
std::string EventLine(const v1::AuctionEvent& event, const std::string& currency);

// True for formats whose bids stay hidden until the close.
bool IsSealed(v1::Format format);
// True for the two double-auction formats (orders with a side).
bool IsDouble(v1::Format format);

}  // namespace gavel::cli

#endif  // GAVEL_CLIENTS_CLI_RENDER_H_
