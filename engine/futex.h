// Linux futex wait and wake on a 32-bit atomic: how Gavel's threads park
// without a mutex (shards, their sync and compactor threads, the feed hub).
#ifndef GAVEL_ENGINE_FUTEX_H_
#define GAVEL_ENGINE_FUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace gavel {

// Sleeps while *word == expected, at most `timeout` (negative or infinite:
// no limit).
// May return early (a wake, a signal, or *word != expected already).
inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Duration timeout) {
  timespec ts = absl::ToTimespec(timeout);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
          timeout < absl::ZeroDuration() || timeout == absl::InfiniteDuration() ? nullptr : &ts,
          nullptr, 0);
}

// Wakes one thread sleeping in FutexWait on `word`.
inline void FutexWakeOne(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace gavel

#endif  // GAVEL_ENGINE_FUTEX_H_
