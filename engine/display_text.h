// Text that people's terminals and pages show as it is (an item's title,
// description, category): which characters would act on a terminal or
// reorder what follows instead of being shown. The server refuses them in
// what a seller lists (server/convert.cc); the command line escapes them in
// what it prints (clients/cli/table.cc).
#ifndef GAVEL_ENGINE_DISPLAY_TEXT_H_
#define GAVEL_ENGINE_DISPLAY_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace gavel {

struct ControlCharacter {
  size_t offset = 0;  // in bytes
  size_t length = 0;  // its UTF-8 bytes
  uint32_t code_point = 0;
};

// The first control character in `text` at or after byte `from`: C0
// controls and DEL (tab and newline too: callers decide about those), C1
// controls (U+0080-U+009F), and the bidirectional embeddings, overrides and
// isolates (U+202A-U+202E, U+2066-U+2069), which can make text read
// backwards. Bytes that are not valid UTF-8 are left alone (protobuf has
// already refused them in a string field).
inline std::optional<ControlCharacter> FindControlCharacter(absl::string_view text,
                                                            size_t from = 0) {
  for (size_t i = from; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto next = [&](size_t k) -> uint32_t {
      return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
    };
    if (c < 0x20 || c == 0x7F) return ControlCharacter{i, 1, c};
    if (c == 0xC2 && next(1) >= 0x80 && next(1) <= 0x9F) {
      return ControlCharacter{i, 2, next(1)};
    }
    if (c == 0xE2 && ((next(1) == 0x80 && next(2) >= 0xAA && next(2) <= 0xAE) ||
                      (next(1) == 0x81 && next(2) >= 0xA6 && next(2) <= 0xA9))) {
      return ControlCharacter{i, 3, 0x2000u + ((next(1) & 0x3Fu) << 6) + (next(2) & 0x3Fu)};
    }
  }
  return std::nullopt;
}

}  // namespace gavel

#endif  // GAVEL_ENGINE_DISPLAY_TEXT_H_
