#include "engine/journal_file.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/crc32c.h"

namespace gavel {
namespace {

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint32_t FrameCrc(const char* length_bytes, absl::string_view payload) {
  return crc32c::Extend(crc32c::Extend(0, length_bytes, 4), payload.data(), payload.size());
}

// Whether a valid frame starts at `offset`; its end in *end.
bool ValidFrameAt(absl::string_view data, size_t offset, size_t* end, std::string* why) {
  const size_t left = data.size() - offset;
  if (left < kFrameHeaderBytes) {
    if (why != nullptr) {
      *why = absl::StrCat("cut short: a record header needs ", kFrameHeaderBytes,
                          " bytes, the file has ", left, " left");
    }
    return false;
  }
  const char* p = data.data() + offset;
  const uint32_t length = GetU32(p);
  if (length > kMaxRecordBytes) {
    if (why != nullptr) {
      *why = absl::StrCat("implausible record length ", length, " (at most ", kMaxRecordBytes,
                          ")");
    }
    return false;
  }
  if (left - kFrameHeaderBytes < length) {
    if (why != nullptr) {
      *why = absl::StrCat("cut short: the record needs ", length, " bytes, the file has ",
                          left - kFrameHeaderBytes, " left");
    }
    return false;
  }
  const absl::string_view payload = data.substr(offset + kFrameHeaderBytes, length);
  if (crc32c::Unmask(GetU32(p + 4)) != FrameCrc(p, payload)) {
    if (why != nullptr) *why = "checksum mismatch";
    return false;
  }
  *end = offset + kFrameHeaderBytes + length;
  return true;
}

// The most zero bytes a record's encoding ends with, with a wide margin
// (fixed-width fields at the end of a record that are 0: a few dozen).
constexpr size_t kMaxTrailingZeros = 4096;

bool ParseNumbered(absl::string_view name, absl::string_view prefix, absl::string_view suffix,
                   uint64_t* number) {
  if (!absl::StartsWith(name, prefix) || !absl::EndsWith(name, suffix)) return false;
  absl::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() != 12) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(digits, number);
}

}  // namespace

void AppendFramedPayload(absl::string_view payload, std::string* out) {
  char header[kFrameHeaderBytes];
  PutU32(static_cast<uint32_t>(payload.size()), header);
  PutU32(crc32c::Mask(FrameCrc(header, payload)), header + 4);
  out->append(header, kFrameHeaderBytes);
  out->append(payload.data(), payload.size());
}

void AppendFrame(const JournalRecord& r, std::string* out) {
  // Encode in place after a header placeholder: no temporary string.
  const size_t start = out->size();
  out->append(kFrameHeaderBytes, '\0');
  EncodeRecord(r, out);
  const size_t length = out->size() - start - kFrameHeaderBytes;
  char* header = out->data() + start;
  PutU32(static_cast<uint32_t>(length), header);
  PutU32(crc32c::Mask(FrameCrc(header, absl::string_view(header + kFrameHeaderBytes, length))),
         header + 4);
}

ScanResult ScanFrames(absl::string_view data) {
  ScanResult result;
  // Past the last non-zero byte nothing can start a valid frame (a zero
  // header is invalid), so scanning stops there.
  size_t data_end = data.size();
  while (data_end >= 8) {
    uint64_t word;
    std::memcpy(&word, data.data() + data_end - 8, 8);
    if (word != 0) break;
    data_end -= 8;
  }
  while (data_end > 0 && data[data_end - 1] == '\0') --data_end;
  result.data_end = data_end;
  size_t offset = 0;
  while (offset < data_end) {
    size_t end = 0;
    if (!ValidFrameAt(data, offset, &end, &result.damage)) {
      result.damaged = true;
      // Is there a valid frame anywhere after the damage? Then this is not
      // a torn tail. (A false match needs a 32-bit checksum to agree by
      // chance.)
      // A frame found there ends by data_end plus the zero bytes a record
      // may end with (a handful): bounding the probes' view keeps a
      // reserved 64 MiB zero tail from making each probe's length check
      // pass and its checksum run over megabytes.
      const absl::string_view probed = data.substr(0, data_end + kMaxTrailingZeros);
      for (size_t probe = offset + 1; probe < data_end; ++probe) {
        size_t probe_end = 0;
        if (ValidFrameAt(probed, probe, &probe_end, nullptr)) {
          result.next_valid_offset = static_cast<int64_t>(probe);
          break;
        }
      }
      break;
    }
    result.frames.push_back(
        {offset, data.substr(offset + kFrameHeaderBytes, end - offset - kFrameHeaderBytes)});
    offset = end;
  }
  result.valid_end = offset;
  return result;
}

bool EndsWithCounters(const ScanResult& scan) {
  RecordPeek last;
  return !scan.damaged && scan.frames.size() >= 2 &&
         PeekRecord(scan.frames.back().payload, &last).ok() && last.type == RecordType::kCounters;
}

std::string JournalFileName(uint64_t number) {
  return absl::StrFormat("journal-%012d.log", number);
}

std::string SnapshotFileName(uint64_t number) {
  return absl::StrFormat("snapshot-%012d.snap", number);
}

bool ParseJournalFileName(absl::string_view name, uint64_t* number) {
  return ParseNumbered(name, "journal-", ".log", number);
}

bool ParseSnapshotFileName(absl::string_view name, uint64_t* number) {
  return ParseNumbered(name, "snapshot-", ".snap", number);
}

std::string PathIn(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name);
}

}  // namespace gavel
