// Factory of the one-sided formats other than ENGLISH.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/auction.h"

namespace gavel {

absl::StatusOr<std::unique_ptr<Auction>> MakeOneSidedAuction(AuctionId, PrincipalId,
                                                             AuctionSpec spec, absl::Time) {
  return absl::UnimplementedError(absl::StrCat(
      "format ", FormatName(spec.format), " is not available in this build yet; ENGLISH is"));
}

}  // namespace gavel
