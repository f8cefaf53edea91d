#include "engine/audit.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace gavel {
namespace {

// FIPS 180-4 SHA-256. Written here so that engine/ depends on Abseil only.
constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void Compress(uint32_t h[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{block[4 * i]} << 24) | (uint32_t{block[4 * i + 1]} << 16) |
           (uint32_t{block[4 * i + 2]} << 8) | uint32_t{block[4 * i + 3]};
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = k + s1 + ch + kK[i] + w[i];
    uint32_t s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = s0 + maj;
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void Field(std::string* out, absl::string_view value) {
  absl::StrAppend(out, value.size(), ":", value, ";");
}
void Field(std::string* out, int64_t value) { Field(out, absl::StrCat(value)); }
void TimeField(std::string* out, absl::Time t) { Field(out, absl::ToUnixMicros(t)); }

}  // namespace

Sha256Digest Sha256(absl::string_view data) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  size_t full = n / 64;
  for (size_t i = 0; i < full; ++i) Compress(h, p + 64 * i);
  uint8_t tail[128] = {};
  size_t rest = n - 64 * full;
  std::memcpy(tail, p + 64 * full, rest);
  tail[rest] = 0x80;
  size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = static_cast<uint64_t>(n) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  Compress(h, tail);
  if (tail_len == 128) Compress(h, tail + 64);
  Sha256Digest out;
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<uint8_t>(h[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(h[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(h[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(h[i]);
  }
  return out;
}

std::string ToHex(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

bool FromHex(absl::string_view hex, Sha256Digest* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

std::string CanonicalSpec(const Settlement& s) {
  const AuctionSpec& spec = s.spec;
  std::string out;
  Field(&out, "gavel.v1.spec");
  Field(&out, s.auction_id);
  Field(&out, s.seller_id);
  Field(&out, FormatName(spec.format));
  Field(&out, spec.currency);
  Field(&out, spec.quantity);
  Field(&out, spec.start_price_minor);
  Field(&out, spec.reserve_price_minor);
  Field(&out, spec.buy_now_price_minor);
  TimeField(&out, spec.starts_at);
  TimeField(&out, spec.ends_at);
  Field(&out, spec.title);
  return out;
}

std::string CanonicalBid(const BidLogEntry& bid) {
  std::string out;
  Field(&out, static_cast<int64_t>(bid.sequence));
  Field(&out, bid.bid_id);
  Field(&out, bid.bidder_id);
  Field(&out, bid.amount_minor);
  Field(&out, bid.quantity);
  Field(&out, SideName(bid.side));
  TimeField(&out, bid.at);
  Field(&out, bid.result);
  return out;
}

namespace {
Sha256Digest Link(const Sha256Digest& prev, const BidLogEntry& bid) {
  std::string data(reinterpret_cast<const char*>(prev.data()), prev.size());
  data += CanonicalBid(bid);
  return Sha256(data);
}
}  // namespace

void ComputeHashChain(Settlement* s) {
  Sha256Digest h = Sha256(CanonicalSpec(*s));
  s->spec_hash = ToHex(h);
  for (BidLogEntry& bid : s->bids) {
    h = Link(h, bid);
    bid.hash = ToHex(h);
  }
  s->final_hash = ToHex(h);
}

ChainCheck VerifyHashChain(const Settlement& s) {
  ChainCheck check;
  Sha256Digest h = Sha256(CanonicalSpec(s));
  if (ToHex(h) != s.spec_hash) {
    check.valid = false;
    check.first_bad_sequence = 0;
    check.message = "the auction spec does not match its stored hash h0";
  }
  for (const BidLogEntry& bid : s.bids) {
    h = Link(h, bid);
    if (check.valid && ToHex(h) != bid.hash) {
      check.valid = false;
      check.first_bad_sequence = static_cast<int64_t>(bid.sequence);
      check.message = absl::StrCat("bid ", bid.bid_id, " (sequence ", bid.sequence,
                                   ") does not match its stored hash");
    }
  }
  check.recomputed_final_hash = ToHex(h);
  if (check.valid && check.recomputed_final_hash != s.final_hash) {
    check.valid = false;
    check.message = "the final hash does not match the last link";
  }
  if (check.valid) {
    check.message = absl::StrCat("hash chain intact over ", s.bids.size(), " bids");
  }
  return check;
}

}  // namespace gavel
