#include "engine/heap.h"

#include <malloc.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"

namespace gavel {

absl::Status RetainFreedMemory(size_t retain_bytes) {
  if (retain_bytes == 0) return absl::OkStatus();
  // glibc refuses an mmap threshold above HEAP_MAX_SIZE / 2 (32 MiB on
  // 64-bit); setting either value also ends its dynamic adjustment.
  constexpr int kMmapThreshold = 32 << 20;
  const int trim = static_cast<int>(std::min<size_t>(retain_bytes, INT_MAX));
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, trim) != 1) {
    return absl::InternalError(absl::StrCat("malloc refused the settings (mmap threshold ",
                                            kMmapThreshold, " B, trim threshold ", trim, " B)"));
  }
  return absl::OkStatus();
}

}  // namespace gavel
