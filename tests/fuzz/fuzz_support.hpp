// What the libFuzzer drivers share: an invariant check that crashes (so libFuzzer reports and
// minimises the input), and the known parser issues the differential checks must not trip over.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace pulse::fuzz {

// Aborts with `what` when `condition` is false: a violated invariant is a crash to libFuzzer.
inline void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// PULSE_FUZZ_STRICT=1 turns the known-issue tolerance below off, to reproduce those issues.
inline bool strict() {
  static const bool value = [] {
    const char* text = std::getenv("PULSE_FUZZ_STRICT");
    return text != nullptr && std::string_view(text) == "1";
  }();
  return value;
}

// Whether the same bytes, cut into reads differently, may end in errors of different statuses.
// They always end in an error after the same requests, and the connection always closes; but
// for one shape of request head, which status RequestParser reports can depend on where the
// reads end (found by parser_fuzz; known, not fixed yet): llhttp reports a field name only when
// it ends or a read ends, so whether the field-count limit (431) or llhttp's own error in that
// name (400) comes first depends on the reads. (Two more were fixed: an unknown method is now
// judged on its whole token, and llhttp runs up to a bare LF before the bare LF is refused;
// parser_test checks both at every split.) Until then the drivers compare such errors by "is an
// error" only; PULSE_FUZZ_STRICT=1 makes them exact.
inline bool error_status_may_depend_on_reads() {
  return !strict();
}

}  // namespace pulse::fuzz
