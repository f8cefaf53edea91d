// The framing of journal and snapshot files: a sequence of records, each
//   u32 payload length | u32 masked CRC-32C of (length bytes, payload) | payload
// little-endian, the payload encoded by engine/journal_record.h. The first
// record of every file is a kFileHeader.
//
// Scanning a file tells apart the end of the valid records from damage: a
// frame that is cut short or fails its checksum is reported with its offset,
// and whether a valid frame can still be found anywhere after it (then the
// damage is in the MIDDLE, not a torn tail). A journal file is reserved
// ahead with zeros (WritableFile::Reserve), so zeros after the last valid
// frame are not damage: they are room not yet written. (An all-zero frame
// header is never valid: its checksum would have to be 0.)
#ifndef GAVEL_ENGINE_JOURNAL_FILE_H_
#define GAVEL_ENGINE_JOURNAL_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "engine/journal_record.h"

namespace gavel {

inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr uint32_t kMaxRecordBytes = 16u << 20;

// Appends `r` framed to `out`.
void AppendFrame(const JournalRecord& r, std::string* out);
// Appends an already encoded payload, framed, to `out`.
void AppendFramedPayload(absl::string_view payload, std::string* out);

struct Frame {
  uint64_t offset = 0;        // of the frame header in the file
  absl::string_view payload;  // into the scanned buffer
};

struct ScanResult {
  std::vector<Frame> frames;  // the valid frames before the first bad one
  uint64_t valid_end = 0;     // offset just past the last valid frame
  uint64_t data_end = 0;      // just past the last byte that is not zero:
                              // the size less a reserved zero tail (it can
                              // fall inside the last valid frame, which may
                              // end in zero bytes)
  bool damaged = false;       // bytes at valid_end that are neither a valid
                              // frame nor zeros to the end
  std::string damage;         // why ("checksum mismatch", "cut short: ...")
  // With `damaged`: the offset of a valid frame found after the damage, or
  // -1 when none is (a torn tail).
  int64_t next_valid_offset = -1;
};

// Splits `data` into frames. Checksums are checked; payloads are not decoded.
ScanResult ScanFrames(absl::string_view data);

// Whether the scanned file is complete: a header, then at least the
// Counters record that every rolled journal file and every snapshot ends
// with. (A zero tail hides nothing then: the file's end is there.)
bool EndsWithCounters(const ScanResult& scan);

// "journal-000000000042.log" / "snapshot-000000000042.snap" and back.
std::string JournalFileName(uint64_t number);
std::string SnapshotFileName(uint64_t number);
// False when `name` is not of that form.
bool ParseJournalFileName(absl::string_view name, uint64_t* number);
bool ParseSnapshotFileName(absl::string_view name, uint64_t* number);
// DIR/NAME.
std::string PathIn(const std::string& dir, absl::string_view name);

}  // namespace gavel

#endif  // GAVEL_ENGINE_JOURNAL_FILE_H_
