// The journal's parts: CRC-32C, the record encoding, the framing, the
// writer's group commit and rolls, and recovery's handling of a torn tail
// (every byte offset of the last record) and of damage in the middle.
#include "engine/journal.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/crc32c.h"
#include "engine/env.h"
#include "engine/env_memory.h"
#include "engine/journal_file.h"
#include "engine/journal_record.h"
#include "engine/recovery.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/engine/journal_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::EnglishSpec;
using ::gavel::testing::JournaledEngine;
using ::gavel::testing::kAlice;
using ::gavel::testing::kBob;
using ::gavel::testing::kSeller;
using ::gavel::testing::kShardDir;
using ::gavel::testing::kT0;
using ::gavel::testing::NamedPrincipals;
using ::testing::HasSubstr;

// ---------------------------------------------------------------- CRC-32C

TEST(Crc32c, MatchesTheRfc3720TestVectors) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c::Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c::Value(up), 0x46DD794Eu);
  EXPECT_EQ(crc32c::Value(down), 0x113FDB5Cu);
  EXPECT_EQ(crc32c::Value(""), 0u);
}

TEST(Crc32c, TableAndInstructionAgreeAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::string data(600, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t n = 0; start + n <= 300; ++n) {
      ASSERT_EQ(crc32c::Extend(0, data.data() + start, n),
                crc32c::ExtendPortable(0, data.data() + start, n))
          << start << " " << n;
    }
  }
}

TEST(Crc32c, ExtendContinuesAPrefix) {
  const std::string s = "The quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(crc32c::Extend(crc32c::Value(s.substr(0, cut)), s.data() + cut, s.size() - cut),
              crc32c::Value(s));
  }
}

TEST(Crc32c, MaskIsInvertibleAndChangesTheValue) {
  for (uint32_t v : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) {
    EXPECT_EQ(crc32c::Unmask(crc32c::Mask(v)), v);
    EXPECT_NE(crc32c::Mask(v), v);
  }
}

// ---------------------------------------------------------------- records

AuctionSpec FullSpec() {
  AuctionSpec s = EnglishSpec();
  s.description = std::string("bytes \0 and \xff", 13);
  s.reserve_price_minor = 2500;
  s.buy_now_price_minor = 9900;
  s.starts_at = kT0 + absl::Nanoseconds(123456789);
  s.ends_at = kT0 + absl::Hours(2) + absl::Nanoseconds(1);
  s.soft_close = {true, absl::Minutes(2), absl::Seconds(90) + absl::Nanoseconds(5),
                  absl::InfiniteDuration()};
  s.dutch = {500, absl::Milliseconds(1500), 4000};
  s.increment_table = {{0, 50}, {1000, 100}, {500000, 2500}};
  return s;
}

std::vector<JournalRecord> OneOfEach() {
  std::vector<JournalRecord> out;
  JournalRecord base;
  base.time = kT0 + absl::Nanoseconds(999999999);
  base.sequence_before = 41;
  base.sequence_after = 43;
  JournalRecord r = base;
  r.type = RecordType::kFileHeader;
  r.file_kind = FileKind::kSnapshot;
  r.file_number = 77;
  r.shard_index = 3;
  r.shard_count = 8;
  out.push_back(r);
  r = base;
  r.type = RecordType::kCreateAuction;
  r.auction_id = 123;
  r.principal_name = "seller";
  r.key = "request-1";
  r.spec = FullSpec();
  out.push_back(r);
  r = base;
  r.type = RecordType::kCancelAuction;
  r.auction_id = 5;
  r.principal_name = "seller";
  out.push_back(r);
  r = base;
  r.type = RecordType::kPlaceBid;
  r.auction_id = 1ULL << 40;
  r.principal_name = "bob";
  r.key = "client-bid-\x01";
  r.amount_minor = -7;  // the encoding does not judge: the engine does
  r.quantity = 1'000'000'000;
  r.side = Side::kSell;
  r.immediate_or_cancel = true;
  out.push_back(r);
  r = base;
  r.type = RecordType::kCancelBid;
  r.auction_id = 9;
  r.principal_name = "alice";
  r.entry = 4'000'000'000u;
  out.push_back(r);
  r.type = RecordType::kCancelBidWithKey;
  r.key = "cancel-\x02";
  out.push_back(r);
  r = base;
  r.type = RecordType::kMarkSettled;
  r.auction_id = 10;
  out.push_back(r);
  r = base;
  r.type = RecordType::kEndedAuctionKey;
  r.auction_id = 12;
  r.principal_name = "seller";
  r.key = "request-\x03";
  r.settled_at = kT0 + absl::Hours(5) + absl::Nanoseconds(7);
  out.push_back(r);
  r = base;
  r.type = RecordType::kTimerFired;
  r.auction_id = 11;
  r.timer_kind = TimerKind::kClose;
  r.timer_at = absl::InfiniteFuture();
  out.push_back(r);
  r = base;
  r.type = RecordType::kCounters;
  r.time = absl::InfinitePast();
  r.next_local_id = 99;
  out.push_back(r);
  return out;
}

TEST(JournalRecord, EveryTypeSurvivesEncodeAndDecode) {
  for (const JournalRecord& r : OneOfEach()) {
    SCOPED_TRACE(RecordTypeName(r.type));
    std::string payload;
    EncodeRecord(r, &payload);
    absl::StatusOr<JournalRecord> back = DecodeRecord(payload);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(SameRecord(r, *back));
    EXPECT_EQ(back->type, r.type);
    EXPECT_EQ(back->time, r.time);
    EXPECT_EQ(back->sequence_before, r.sequence_before);
    EXPECT_EQ(back->sequence_after, r.sequence_after);
    EXPECT_EQ(back->principal, kNoPrincipal);  // names only: ids are resolved on replay
    RecordPeek peek;
    ASSERT_TRUE(PeekRecord(payload, &peek).ok());
    EXPECT_EQ(peek.type, r.type);
    EXPECT_EQ(peek.sequence_after, r.sequence_after);
    EXPECT_EQ(peek.time, r.time);
    if (r.type != RecordType::kFileHeader && r.type != RecordType::kCounters) {
      EXPECT_EQ(peek.auction_id, r.auction_id);
    }
  }
}

TEST(JournalRecord, CreateKeepsTheSpecExactly) {
  const JournalRecord r = OneOfEach()[1];
  std::string payload;
  EncodeRecord(r, &payload);
  const AuctionSpec s = DecodeRecord(payload)->spec;
  const AuctionSpec want = FullSpec();
  EXPECT_EQ(s.title, want.title);
  EXPECT_EQ(s.description, want.description);
  EXPECT_EQ(s.category, want.category);
  EXPECT_EQ(s.format, want.format);
  EXPECT_EQ(s.currency, want.currency);
  EXPECT_EQ(s.quantity, want.quantity);
  EXPECT_EQ(s.start_price_minor, want.start_price_minor);
  EXPECT_EQ(s.reserve_price_minor, want.reserve_price_minor);
  EXPECT_EQ(s.buy_now_price_minor, want.buy_now_price_minor);
  EXPECT_EQ(s.starts_at, want.starts_at);  // nanoseconds kept
  EXPECT_EQ(s.ends_at, want.ends_at);
  EXPECT_EQ(s.soft_close.enabled, true);
  EXPECT_EQ(s.soft_close.window, want.soft_close.window);
  EXPECT_EQ(s.soft_close.extension, want.soft_close.extension);
  EXPECT_EQ(s.soft_close.cap, absl::InfiniteDuration());
  EXPECT_EQ(s.dutch.decrement_minor, 500);
  EXPECT_EQ(s.dutch.tick_interval, absl::Milliseconds(1500));
  EXPECT_EQ(s.dutch.floor_price_minor, 4000);
  ASSERT_EQ(s.increment_table.size(), 3u);
  EXPECT_EQ(s.increment_table[2].from_minor, 500000);
  EXPECT_EQ(s.increment_table[2].step_minor, 2500);
}

TEST(JournalRecord, NegativeTimesAndDurationsRoundTrip) {
  JournalRecord r;
  r.type = RecordType::kCreateAuction;
  r.time = absl::UnixEpoch() - absl::Nanoseconds(1);
  r.spec.soft_close.window = -absl::Seconds(3) - absl::Nanoseconds(7);
  std::string payload;
  EncodeRecord(r, &payload);
  absl::StatusOr<JournalRecord> back = DecodeRecord(payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->time, r.time);
  EXPECT_EQ(back->spec.soft_close.window, r.spec.soft_close.window);
}

TEST(JournalRecord, EveryTruncationAndTrailingBytesAreRefused) {
  for (const JournalRecord& r : OneOfEach()) {
    std::string payload;
    EncodeRecord(r, &payload);
    for (size_t n = 0; n < payload.size(); ++n) {
      absl::StatusOr<JournalRecord> cut = DecodeRecord(payload.substr(0, n));
      EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss)
          << RecordTypeName(r.type) << " cut at " << n;
    }
    absl::StatusOr<JournalRecord> longer = DecodeRecord(payload + "x");
    EXPECT_EQ(longer.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(longer.status().message()), HasSubstr("trailing bytes"));
  }
  EXPECT_THAT(std::string(DecodeRecord(std::string(1, '\x63')).status().message()),
              HasSubstr("unknown record type 99"));
}

// ---------------------------------------------------------------- frames

TEST(JournalFrames, ScanReturnsEveryFrameAndFlagsAnyFlippedBit) {
  std::string file;
  std::vector<size_t> starts;
  for (const JournalRecord& r : OneOfEach()) {
    starts.push_back(file.size());
    AppendFrame(r, &file);
  }
  ScanResult scan = ScanFrames(file);
  EXPECT_FALSE(scan.damaged);
  ASSERT_EQ(scan.frames.size(), OneOfEach().size());
  EXPECT_EQ(scan.valid_end, file.size());
  for (size_t i = 0; i < starts.size(); ++i) EXPECT_EQ(scan.frames[i].offset, starts[i]);

  // Every bit of the third frame: the scan stops at that frame.
  const size_t begin = starts[2], end = starts[3];
  for (size_t byte = begin; byte < end; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = file;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      ScanResult s = ScanFrames(bad);
      ASSERT_TRUE(s.damaged) << byte << ":" << bit;
      EXPECT_EQ(s.valid_end, begin);
      EXPECT_EQ(s.frames.size(), 2u);
      // Frames after it are still valid, so this is not a torn tail.
      EXPECT_EQ(s.next_valid_offset, static_cast<int64_t>(end)) << byte << ":" << bit;
    }
  }
}

TEST(JournalFrames, ACutShortTailHasNoValidFrameAfterIt) {
  std::string file;
  for (const JournalRecord& r : OneOfEach()) AppendFrame(r, &file);
  const size_t last = ScanFrames(file).frames.back().offset;
  for (size_t cut = last + 1; cut < file.size(); ++cut) {
    ScanResult s = ScanFrames(absl::string_view(file).substr(0, cut));
    ASSERT_TRUE(s.damaged);
    EXPECT_EQ(s.valid_end, last);
    EXPECT_EQ(s.next_valid_offset, -1);
    EXPECT_THAT(s.damage, HasSubstr("cut short"));
  }
}

// A journal file is reserved ahead (WritableFile::Reserve): the zeros after
// its last record are room not yet written, not damage; a torn record before
// them still is.
TEST(JournalFrames, AZeroTailIsUnwrittenRoomNotDamage) {
  std::string records;
  for (const JournalRecord& r : OneOfEach()) AppendFrame(r, &records);
  for (size_t zeros : {1, 7, 8, 9, 4096}) {
    SCOPED_TRACE(zeros);
    const std::string file = records + std::string(zeros, '\0');
    ScanResult s = ScanFrames(file);
    EXPECT_FALSE(s.damaged) << s.damage;
    EXPECT_EQ(s.frames.size(), OneOfEach().size());
    EXPECT_EQ(s.valid_end, records.size());
    EXPECT_LE(s.data_end, records.size());  // a record may end in zero bytes
  }
  // A record cut short, then zeros: a torn tail whose bytes end at data_end.
  const size_t last = ScanFrames(records).frames.back().offset;
  std::string torn = records.substr(0, last + 11);
  torn.back() = 'x';  // so that the torn bytes end in one that is not zero
  torn.append(4096, '\0');
  ScanResult s = ScanFrames(torn);
  EXPECT_TRUE(s.damaged);
  EXPECT_EQ(s.valid_end, last);
  EXPECT_EQ(s.data_end, last + 11);
  EXPECT_EQ(s.next_valid_offset, -1);
  // Damage in the middle is still told from a torn tail with a zero tail
  // after the records (the probes look past the damage up to data_end).
  std::string middle = records + std::string(1 << 20, '\0');
  const size_t second = ScanFrames(records).frames[1].offset;
  middle[second + kFrameHeaderBytes] ^= 0x01;
  ScanResult m = ScanFrames(middle);
  EXPECT_TRUE(m.damaged);
  EXPECT_EQ(m.valid_end, second);
  EXPECT_EQ(m.next_valid_offset, static_cast<int64_t>(ScanFrames(records).frames[2].offset));
  // Why zeros can end the scan: no frame, not even an empty one, has an
  // all-zero header.
  std::string empty;
  AppendFramedPayload("", &empty);
  EXPECT_NE(empty, std::string(kFrameHeaderBytes, '\0'));
}

TEST(JournalFrames, FileNamesRoundTrip) {
  uint64_t n = 0;
  EXPECT_EQ(JournalFileName(42), "journal-000000000042.log");
  EXPECT_TRUE(ParseJournalFileName("journal-000000000042.log", &n));
  EXPECT_EQ(n, 42u);
  EXPECT_TRUE(ParseSnapshotFileName(SnapshotFileName(7), &n));
  EXPECT_EQ(n, 7u);
  EXPECT_FALSE(ParseJournalFileName("journal-42.log", &n));
  EXPECT_FALSE(ParseJournalFileName("snapshot-000000000042.snap", &n));
  EXPECT_FALSE(ParseSnapshotFileName("snapshot-000000000042.snap.tmp", &n));
}

// ---------------------------------------------------------------- writer

JournalOptions MemOptions(MemEnv* env) {
  EXPECT_TRUE(env->CreateDir(kShardDir).ok());
  JournalOptions o;
  o.env = env;
  o.dir = kShardDir;
  return o;
}

JournalRecord Bid(int i) {
  JournalRecord r;
  r.type = RecordType::kPlaceBid;
  r.time = kT0 + absl::Seconds(i);
  r.sequence_before = static_cast<Sequence>(i);
  r.sequence_after = static_cast<Sequence>(i + 1);
  r.auction_id = 1;
  r.principal_name = "bob";
  r.key = absl::StrCat("b", i);
  r.amount_minor = 1000 + i;
  return r;
}

TEST(JournalWriter, GroupCommitIsOneWriteAndOneSyncPerBatch) {
  MemEnv env;
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(MemOptions(&env), 1, kT0);
  ASSERT_TRUE(j.ok()) << j.status();
  const int64_t syncs_at_open = env.sync_count();
  const std::string path = (*j)->file_path();
  const size_t header = env.MutableContents(path)->size();
  for (int i = 0; i < 100; ++i) (*j)->Append(Bid(i));
  EXPECT_TRUE((*j)->has_buffered());
  EXPECT_EQ(env.MutableContents(path)->size(), header);  // nothing written yet
  ASSERT_TRUE((*j)->Write().ok());
  EXPECT_TRUE((*j)->has_unsynced());
  // Written but not synced: a crash now keeps only the header.
  EXPECT_EQ(env.CrashCopy()->MutableContents(path)->size(), header);
  ASSERT_TRUE((*j)->Sync().ok());
  EXPECT_EQ(env.sync_count(), syncs_at_open + 1);
  ASSERT_TRUE((*j)->Sync().ok());  // nothing new: no fdatasync
  EXPECT_EQ(env.sync_count(), syncs_at_open + 1);
  ScanResult scan = ScanFrames(*env.CrashCopy()->MutableContents(path));
  EXPECT_FALSE(scan.damaged);
  EXPECT_EQ(scan.frames.size(), 101u);
}

TEST(JournalWriter, ReservesTheWholeFileAndClosingCutsTheRoomOff) {
  MemEnv env;
  JournalOptions o = MemOptions(&env);
  o.max_file_bytes = 64 << 10;
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(o, 1, kT0);
  ASSERT_TRUE(j.ok()) << j.status();
  const std::string path = (*j)->file_path();
  for (int i = 0; i < 10; ++i) (*j)->Append(Bid(i));
  ASSERT_TRUE((*j)->Write().ok());
  ASSERT_TRUE((*j)->Sync().ok());
  const size_t written = env.MutableContents(path)->size();
  // The file reads as its records, then zeros to the reserved size; so does
  // what a crash leaves, and the scan takes the zeros as the end.
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  for (MemEnv* e : {&env, crashed.get()}) {
    absl::StatusOr<std::string> data = e->ReadFile(path);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->size(), o.max_file_bytes);
    ScanResult scan = ScanFrames(*data);
    EXPECT_FALSE(scan.damaged);
    EXPECT_EQ(scan.frames.size(), 11u);
    EXPECT_EQ(scan.valid_end, written);
  }
  // Closed: the room is cut off, the counters record last.
  ASSERT_TRUE((*j)->Close(Bid(99)).ok());
  absl::StatusOr<std::string> closed = env.ReadFile(path);
  ASSERT_TRUE(closed.ok());
  ScanResult scan = ScanFrames(*closed);
  EXPECT_FALSE(scan.damaged);
  EXPECT_EQ(scan.frames.size(), 12u);
  EXPECT_EQ(scan.valid_end, closed->size());
}

// The same with the real file system: fallocate gives the file its reserved
// size, appends go right after what was written (not after the zeros), Close
// cuts the file back, and a file opened again appends after its contents.
TEST(PosixEnv, ReservedRoomIsZerosThatAppendsFillAndCloseCutsOff) {
  char tmpl[] = "/tmp/gavel-env-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/f";
  Env* env = Env::Default();
  {
    absl::StatusOr<std::unique_ptr<WritableFile>> f = env->OpenAppendable(path);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append("abc").ok());
    if (!(*f)->Reserve(1 << 16)) GTEST_SKIP() << "this file system cannot fallocate";
    ASSERT_TRUE((*f)->Append("def").ok());
    ASSERT_TRUE((*f)->Sync().ok());
    absl::StatusOr<std::string> data = env->ReadFile(path);
    ASSERT_TRUE(data.ok());
    ASSERT_EQ(data->size(), 1u << 16);
    EXPECT_EQ(data->substr(0, 6), "abcdef");
    EXPECT_EQ(data->find_first_not_of('\0', 6), std::string::npos);
    ASSERT_TRUE((*f)->Close().ok());
  }
  absl::StatusOr<std::string> closed = env->ReadFile(path);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(*closed, "abcdef");
  {
    absl::StatusOr<std::unique_ptr<WritableFile>> f = env->OpenAppendable(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("gh").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  closed = env->ReadFile(path);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(*closed, "abcdefgh");
  ASSERT_TRUE(env->Remove(path).ok());
  ASSERT_EQ(rmdir(dir.c_str()), 0);
}

TEST(JournalWriter, RollsAtTheSizeLimitWithCountersAtTheEnd) {
  MemEnv env;
  JournalOptions o = MemOptions(&env);
  o.max_file_bytes = 500;
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(o, 1, kT0);
  ASSERT_TRUE(j.ok());
  int rolls = 0;
  for (int i = 0; i < 50; ++i) {
    (*j)->Append(Bid(i));
    ASSERT_TRUE((*j)->Write().ok());
    ASSERT_TRUE((*j)->Sync().ok());
    if ((*j)->ShouldRoll(kT0)) {
      JournalRecord counters;
      counters.type = RecordType::kCounters;
      counters.sequence_after = static_cast<Sequence>(i + 1);
      ASSERT_TRUE((*j)->Roll(counters, kT0).ok());
      ++rolls;
    }
  }
  EXPECT_GT(rolls, 3);
  EXPECT_EQ((*j)->file_number(), static_cast<uint64_t>(rolls + 1));
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  for (int n = 1; n <= rolls; ++n) {
    const std::string path = absl::StrCat(kShardDir, "/", JournalFileName(n));
    std::string* data = crashed->MutableContents(path);
    ASSERT_NE(data, nullptr) << path;  // the directory was synced at each roll
    ScanResult scan = ScanFrames(*data);
    ASSERT_FALSE(scan.damaged);
    RecordPeek last;
    ASSERT_TRUE(PeekRecord(scan.frames.back().payload, &last).ok());
    EXPECT_EQ(last.type, RecordType::kCounters) << path;
  }
}

TEST(JournalWriter, RollsByAgeOnlyWhenTheFileHoldsARecord) {
  MemEnv env;
  JournalOptions o = MemOptions(&env);
  o.max_file_age = absl::Minutes(1);
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(o, 1, kT0);
  ASSERT_TRUE(j.ok());
  EXPECT_FALSE((*j)->ShouldRoll(kT0 + absl::Hours(1)));  // empty: nothing to snapshot
  (*j)->Append(Bid(1));
  EXPECT_FALSE((*j)->ShouldRoll(kT0 + absl::Seconds(59)));
  EXPECT_TRUE((*j)->ShouldRoll(kT0 + absl::Minutes(1)));
}

TEST(JournalWriter, AFailedSyncIsFinalAndNeverRetried) {
  MemEnv env;
  absl::StatusOr<std::unique_ptr<Journal>> j = Journal::Open(MemOptions(&env), 1, kT0);
  ASSERT_TRUE(j.ok());
  (*j)->Append(Bid(1));
  ASSERT_TRUE((*j)->Write().ok());
  env.FailSyncsAfter(0);
  absl::Status first = (*j)->Sync();
  EXPECT_FALSE(first.ok());
  EXPECT_THAT(std::string(first.message()), HasSubstr("fdatasync"));
  const int64_t syncs = env.sync_count();
  env.FailSyncsAfter(-1);  // the disk "recovers": the journal must not believe it
  (*j)->Append(Bid(2));
  EXPECT_EQ((*j)->Write(), first);
  EXPECT_EQ((*j)->Sync(), first);
  EXPECT_EQ(env.sync_count(), syncs);  // no second fdatasync
  EXPECT_EQ((*j)->failure(), first);
}

// ---------------------------------------------------------------- recovery

// An engine that journals: a create and `bids` bids, each its own synced
// batch; the state hash after each batch.
struct History {
  std::vector<std::string> hashes;   // hashes[i]: after batch i
  std::vector<uint64_t> file_sizes;  // the journal file's size after batch i
  std::string path;
};

History RunAuction(MemEnv* env, NamedPrincipals* names, int bids) {
  History h;
  JournaledEngine je(env, names);
  EXPECT_TRUE(je.Start(names).ok());
  h.path = je.CurrentFile();
  AuctionSpec spec = EnglishSpec();
  spec.soft_close = {true, absl::Minutes(5), absl::Minutes(2), absl::Hours(1)};
  EXPECT_TRUE(je.engine().CreateAuction(kSeller, "create-1", spec, kT0).ok());
  EXPECT_TRUE(je.Step(kT0).ok());
  h.hashes.push_back(je.engine().StateHash());
  h.file_sizes.push_back(env->MutableContents(h.path)->size());
  for (int i = 0; i < bids; ++i) {
    PlaceBidCommand cmd;
    cmd.auction_id = 1;
    cmd.bidder = i % 2 == 0 ? kAlice : kBob;
    const std::string key = absl::StrCat("bid-", i);
    cmd.client_bid_id = key;
    cmd.amount_minor = 1000 + 150 * i;
    EXPECT_TRUE(je.engine().PlaceBid(cmd, kT0 + absl::Seconds(i)).ok());
    EXPECT_TRUE(je.Step(kT0).ok());
    h.hashes.push_back(je.engine().StateHash());
    h.file_sizes.push_back(env->MutableContents(h.path)->size());
  }
  return h;
}

absl::StatusOr<RecoveryReport> RecoverInto(MemEnv* env, NamedPrincipals* names,
                                           std::string* hash,
                                           std::vector<std::string>* log = nullptr) {
  testing::RecordingListener listener;
  Engine engine(EngineOptions{}, names, &listener);
  RecoveryOptions ro;
  ro.env = env;
  ro.dir = kShardDir;
  std::vector<std::string> lines;
  ro.log = [&lines](const std::string& line) { lines.push_back(line); };
  absl::StatusOr<RecoveryReport> report = Recover(ro, &engine, names);
  if (report.ok()) *hash = engine.StateHash();
  if (log != nullptr) *log = lines;
  return report;
}

// Recovering `env` again finds no torn tail and the state `hash`.
void ExpectCleanRecoveryTo(MemEnv* env, NamedPrincipals* names, const std::string& hash) {
  std::string again;
  absl::StatusOr<RecoveryReport> second = RecoverInto(env, names, &again);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->torn_tail);
  EXPECT_EQ(again, hash);
}

// A journal that creates auction 1 in file 1, rolls, then takes `bids` of
// alice's bids in file 2; the state hash at the end.
std::string CreateRollThenBid(MemEnv* env, NamedPrincipals* names, int bids) {
  JournaledEngine je(env, names);
  EXPECT_TRUE(je.Start(names).ok());
  EXPECT_TRUE(je.engine().CreateAuction(kSeller, "c", EnglishSpec(), kT0).ok());
  EXPECT_TRUE(je.Step(kT0).ok());
  EXPECT_TRUE(je.journal().Roll(je.engine().CountersRecord(), kT0).ok());
  for (int i = 0; i < bids; ++i) {
    const std::string key = absl::StrCat("k", i + 1);
    EXPECT_TRUE(je.engine().PlaceBid(testing::BidCommand(1, kAlice, key, 1000 + 100 * i), kT0).ok());
    EXPECT_TRUE(je.Step(kT0).ok());
  }
  return je.engine().StateHash();
}

TEST(Recovery, TornTailAtEveryByteOfTheLastRecordKeepsEverythingBefore) {
  MemEnv env;
  NamedPrincipals names;
  const History h = RunAuction(&env, &names, 6);
  const uint64_t last_begin = h.file_sizes[h.file_sizes.size() - 2];
  const uint64_t last_end = h.file_sizes.back();
  ASSERT_GT(last_end, last_begin);
  for (uint64_t cut = last_begin; cut <= last_end; ++cut) {
    SCOPED_TRACE(absl::StrCat("cut at ", cut));
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    crashed->MutableContents(h.path)->resize(cut);
    std::string hash;
    std::vector<std::string> log;
    NamedPrincipals fresh;
    absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &fresh, &hash, &log);
    ASSERT_TRUE(report.ok()) << report.status();
    const bool whole = cut == last_end;
    EXPECT_EQ(hash, whole ? h.hashes.back() : h.hashes[h.hashes.size() - 2]);
    EXPECT_EQ(report->torn_tail, !whole && cut > last_begin);
    if (report->torn_tail) {
      EXPECT_EQ(report->torn_tail_offset, last_begin);
      EXPECT_EQ(report->torn_tail_file, h.path);
      ASSERT_EQ(log.size(), 1u);
      EXPECT_THAT(log[0], HasSubstr(h.path));
      EXPECT_THAT(log[0], HasSubstr(absl::StrCat("torn record at offset ", last_begin)));
    }
    // The torn bytes are gone: a second recovery finds a clean journal.
    ExpectCleanRecoveryTo(crashed.get(), &fresh, hash);
  }
}

// A crash leaves the newest file reserved: its records, then zeros. That is
// no torn tail; recovery cuts the zeros off before it ends the file with its
// counters, and the journal goes on recoverably.
TEST(Recovery, AReservedZeroTailIsNotATornTail) {
  MemEnv env;
  NamedPrincipals names;
  std::unique_ptr<MemEnv> crashed;
  std::string path, before;
  size_t written = 0;
  {
    JournaledEngine je(&env, &names);
    ASSERT_TRUE(je.Start(&names).ok());
    path = je.CurrentFile();
    ASSERT_TRUE(je.engine().CreateAuction(kSeller, "c", EnglishSpec(), kT0).ok());
    ASSERT_TRUE(je.engine().PlaceBid(testing::BidCommand(1, kAlice, "k1", 1000), kT0).ok());
    ASSERT_TRUE(je.Step(kT0).ok());
    before = je.engine().StateHash();
    written = env.MutableContents(path)->size();
    crashed = env.CrashCopy();  // the crash, with the journal open
  }
  ASSERT_GT(crashed->ReadFile(path)->size(), written);  // the reserved zeros
  std::string hash;
  std::vector<std::string> log;
  absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &hash, &log);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->torn_tail);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(hash, before);
  // The records, then the counters record recovery appended right after
  // them, and nothing else.
  absl::StatusOr<std::string> data = crashed->ReadFile(path);
  ASSERT_TRUE(data.ok());
  ScanResult scan = ScanFrames(*data);
  EXPECT_FALSE(scan.damaged);
  EXPECT_EQ(scan.valid_end, data->size());
  EXPECT_EQ(scan.frames.back().offset, written);
  std::string again;
  ASSERT_TRUE(RecoverInto(crashed.get(), &names, &again).ok());
  EXPECT_EQ(again, before);
}

// The same cut at every byte of the last record, but with the journal still
// open when the machine crashed: the file is reserved, so zeros follow the
// cut (and a cut inside the record's own trailing zero bytes looks whole
// until the zeros are cut off).
TEST(Recovery, TornTailAtEveryByteOfAReservedFile) {
  MemEnv env;
  NamedPrincipals names;
  JournaledEngine je(&env, &names);
  ASSERT_TRUE(je.Start(&names).ok());
  const std::string path = je.CurrentFile();
  ASSERT_TRUE(je.engine().CreateAuction(kSeller, "c", EnglishSpec(), kT0).ok());
  ASSERT_TRUE(je.Step(kT0).ok());
  const std::string before = je.engine().StateHash();
  const size_t last_begin = env.MutableContents(path)->size();
  ASSERT_TRUE(je.engine().PlaceBid(testing::BidCommand(1, kAlice, "k1", 1000), kT0).ok());
  ASSERT_TRUE(je.Step(kT0).ok());
  const std::string after = je.engine().StateHash();
  const size_t last_end = env.MutableContents(path)->size();
  for (size_t cut = last_begin; cut <= last_end; ++cut) {
    SCOPED_TRACE(absl::StrCat("cut at ", cut));
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    crashed->MutableContents(path)->resize(cut);
    ASSERT_GT(crashed->ReadFile(path)->size(), last_end);  // reserved zeros follow
    NamedPrincipals fresh;
    std::string hash;
    absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &fresh, &hash);
    ASSERT_TRUE(report.ok()) << report.status();
    // A cut inside the record's trailing zero bytes keeps the record whole:
    // the reserved zeros stand in for the bytes cut.
    const std::string& written = *env.MutableContents(path);
    const bool whole = written.find_first_not_of('\0', cut) >= last_end;
    EXPECT_EQ(hash, whole ? after : before);
    EXPECT_EQ(report->torn_tail, !whole && cut > last_begin);
    ExpectCleanRecoveryTo(crashed.get(), &fresh, hash);
  }
}

// A rolled file whose cut back to its records did not reach the disk ends in
// zeros after its counters record: fine. One that lost its last records
// (its counters among them) is refused, whatever follows.
TEST(Recovery, ARolledFileMustEndWithItsCountersRecord) {
  MemEnv env;
  NamedPrincipals names;
  const std::string hash = CreateRollThenBid(&env, &names, /*bids=*/1);
  const std::string first = absl::StrCat(kShardDir, "/", JournalFileName(1));
  {
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    crashed->MutableContents(first)->append(4096, '\0');
    std::string got;
    absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &got);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(got, hash);
  }
  {
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    std::string* data = crashed->MutableContents(first);
    const ScanResult scan = ScanFrames(*data);
    data->resize(scan.frames.back().offset);  // the counters record is gone
    data->append(4096, '\0');
    std::string got;
    absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &got);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(report.status().message()),
                HasSubstr("does not end with its counters record"));
  }
}

TEST(Recovery, ACorruptLastRecordIsATornTail) {
  MemEnv env;
  NamedPrincipals names;
  const History h = RunAuction(&env, &names, 4);
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  std::string* data = crashed->MutableContents(h.path);
  (*data)[data->size() - 3] ^= 0x40;
  std::string hash;
  absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &hash);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->torn_tail);
  EXPECT_EQ(hash, h.hashes[h.hashes.size() - 2]);
}

TEST(Recovery, ACorruptRecordInTheMiddleStopsRecoveryNamingFileAndOffset) {
  MemEnv env;
  NamedPrincipals names;
  const History h = RunAuction(&env, &names, 6);
  const uint64_t begin = h.file_sizes[2];  // the third bid's record
  for (uint64_t byte : {begin, begin + 5, begin + 20, h.file_sizes[3] - 1}) {
    SCOPED_TRACE(byte);
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    (*crashed->MutableContents(h.path))[byte] ^= 0x01;
    std::string hash;
    absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &hash);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(report.status().message()), HasSubstr(h.path));
    EXPECT_THAT(std::string(report.status().message()),
                HasSubstr(absl::StrCat("offset ", begin)));
    EXPECT_THAT(std::string(report.status().message()), HasSubstr("middle"));
  }
}

TEST(Recovery, DamageInAnOlderFileStopsRecoveryEvenAtItsEnd) {
  MemEnv env;
  NamedPrincipals names;
  {
    JournaledEngine je(&env, &names);
    ASSERT_TRUE(je.Start(&names).ok());
    ASSERT_TRUE(je.engine().CreateAuction(kSeller, "c", EnglishSpec(), kT0).ok());
    ASSERT_TRUE(je.Step(kT0).ok());
    ASSERT_TRUE(je.journal().Roll(je.engine().CountersRecord(), kT0).ok());
    ASSERT_TRUE(je.engine().PlaceBid(testing::BidCommand(1, kBob, "b", 2000), kT0).ok());
    ASSERT_TRUE(je.Step(kT0).ok());
  }
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  const std::string first = absl::StrCat(kShardDir, "/", JournalFileName(1));
  std::string* data = crashed->MutableContents(first);
  data->resize(data->size() - 1);  // the counters record of a rolled file, cut
  std::string hash;
  absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &hash);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.status().message()), HasSubstr(first));
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("not the newest"));
}

TEST(Recovery, ARecordThatDoesNotReplayIsAnErrorNamingFileAndOffset) {
  MemEnv env;
  NamedPrincipals names;
  const History h = RunAuction(&env, &names, 2);
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  // A well-formed record that claims the wrong sequence.
  JournalRecord r = Bid(7);
  r.sequence_before = 3;
  r.sequence_after = 9;
  std::string* data = crashed->MutableContents(h.path);
  const uint64_t offset = data->size();
  AppendFrame(r, data);
  std::string hash;
  absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &hash);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(report.status().message()),
              HasSubstr(absl::StrCat(h.path, " offset ", offset)));
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("journal says 9"));
}

TEST(Recovery, RefusesTheFilesOfAnotherShardCount) {
  MemEnv env;
  NamedPrincipals names;
  RunAuction(&env, &names, 1);
  testing::RecordingListener listener;
  Engine engine(EngineOptions{0, 2, 0}, &names, &listener);
  RecoveryOptions ro;
  ro.env = &env;
  ro.dir = kShardDir;
  ro.shard_count = 2;
  absl::StatusOr<RecoveryReport> report = Recover(ro, &engine, &names);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("--shards=1"));
}

TEST(Recovery, AMissingJournalFileIsAnError) {
  MemEnv env;
  NamedPrincipals names;
  {
    JournaledEngine je(&env, &names);
    ASSERT_TRUE(je.Start(&names).ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(je.engine().CreateAuction(kSeller, absl::StrCat(i), EnglishSpec(), kT0).ok());
      ASSERT_TRUE(je.Step(kT0).ok());
      ASSERT_TRUE(je.journal().Roll(je.engine().CountersRecord(), kT0).ok());
    }
  }
  std::unique_ptr<MemEnv> crashed = env.CrashCopy();
  ASSERT_TRUE(crashed->Remove(absl::StrCat(kShardDir, "/", JournalFileName(2))).ok());
  std::string hash;
  absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &names, &hash);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("is missing"));
}

TEST(Recovery, ANewestFileCutInsideItsHeaderIsRemoved) {
  MemEnv env;
  NamedPrincipals names;
  const std::string hash = CreateRollThenBid(&env, &names, /*bids=*/0);
  const std::string second = absl::StrCat(kShardDir, "/", JournalFileName(2));
  const size_t header = env.MutableContents(second)->size();
  for (size_t cut = 0; cut < header; ++cut) {
    SCOPED_TRACE(cut);
    std::unique_ptr<MemEnv> crashed = env.CrashCopy();
    crashed->MutableContents(second)->resize(cut);
    NamedPrincipals fresh;
    std::string got;
    absl::StatusOr<RecoveryReport> report = RecoverInto(crashed.get(), &fresh, &got);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(got, hash);
    EXPECT_EQ(report->next_file_number, 2u);  // the file is made again
    EXPECT_FALSE(crashed->Exists(second));
    // And the journal goes on from there, recoverably.
    JournaledEngine again(crashed.get(), &fresh);
    ASSERT_TRUE(again.Start(&fresh).ok());
    EXPECT_EQ(again.engine().StateHash(), hash);
    ASSERT_TRUE(again.engine().CreateAuction(kSeller, "d", EnglishSpec(), kT0).ok());
    ASSERT_TRUE(again.Step(kT0).ok());
    const std::string after = again.engine().StateHash();
    std::unique_ptr<MemEnv> crashed_again = crashed->CrashCopy();
    ASSERT_TRUE(RecoverInto(crashed_again.get(), &fresh, &got).ok());
    EXPECT_EQ(got, after);
  }
}

TEST(Recovery, AnEmptyDirectoryIsAFreshStart) {
  MemEnv env;
  NamedPrincipals names;
  std::string hash;
  ASSERT_TRUE(env.CreateDir(kShardDir).ok());
  absl::StatusOr<RecoveryReport> report = RecoverInto(&env, &names, &hash);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->next_file_number, 1u);
  EXPECT_EQ(report->journal_records, 0u);
}

}  // namespace
}  // namespace gavel
