// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as used
// by iSCSI, ext4 and LevelDB: the checksum of every journal record
// (engine/journal_file.h). Test vectors from RFC 3720 B.4 in
// tests/engine/journal_test.cc.
#ifndef GAVEL_ENGINE_CRC32C_H_
#define GAVEL_ENGINE_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace gavel::crc32c {

// The CRC of `data` appended to a message whose CRC was `crc` (0 for the
// empty message). Uses the SSE4.2 crc32 instruction when the CPU has it,
// the table-driven code otherwise; both give the same value.
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(absl::string_view data) { return Extend(0, data.data(), data.size()); }

// The table-driven implementation alone (slicing by 8), for tests.
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);

// A stored CRC is masked, so that the CRC of a string that itself embeds
// CRCs (a journal file inside a snapshot, say) is not degenerate.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace gavel::crc32c

#endif  // GAVEL_ENGINE_CRC32C_H_
