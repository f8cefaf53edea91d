// The audit hash chain (docs/AUDIT.md): canonical encodings and SHA-256.
//   h0 = SHA256(CanonicalSpec(settlement))
//   hi = SHA256(raw h(i-1) || CanonicalBid(bid i))
// Every field is encoded as <decimal byte length> ':' <bytes> ';' so that no
// value can be confused with a separator; times are Unix microseconds.
#ifndef GAVEL_ENGINE_AUDIT_H_
#define GAVEL_ENGINE_AUDIT_H_

#include <array>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "engine/settlement.h"

namespace gavel {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 (FIPS 180-4) of `data`.
Sha256Digest Sha256(absl::string_view data);
std::string ToHex(const Sha256Digest& digest);
// Parses 64 hex digits; false on anything else.
bool FromHex(absl::string_view hex, Sha256Digest* out);

std::string CanonicalSpec(const Settlement& s);
std::string CanonicalBid(const BidLogEntry& bid);

// Fills spec_hash, every bids[i].hash and final_hash.
void ComputeHashChain(Settlement* s);

struct ChainCheck {
  bool valid = true;
  int64_t first_bad_sequence = -1;  // sequence of the first bad link, or -1
  std::string recomputed_final_hash;
  std::string message;
};
// Recomputes the chain from the stored fields and compares every link.
ChainCheck VerifyHashChain(const Settlement& s);

}  // namespace gavel

#endif  // GAVEL_ENGINE_AUDIT_H_
