// Turning libpqxx exceptions into absl::Status (see store.h for what each code means).
#ifndef GAVEL_SERVER_STORE_INTERNAL_PG_STATUS_H_
#define GAVEL_SERVER_STORE_INTERNAL_PG_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gavel::store_internal {

// The status for the exception being handled, as "<context>: <message on one line>".
// REQUIRES: called inside a catch block.
absl::Status StatusFromCurrentException(absl::string_view context);

}  // namespace gavel::store_internal

#endif  // GAVEL_SERVER_STORE_INTERNAL_PG_STATUS_H_
