// `pulsehttpd beat URL --interval N`: a heartbeat client that holds ONE keep-alive connection
// and reuses it for every beat, reconnecting only after a failure.
#pragma once

#include <cstdio>

#include "pulse/app/config.hpp"

namespace pulse::app {

// Beats until SIGINT/SIGTERM (then signs off with DELETE) or `count` beats. Returns 0, or 1
// when the last beat failed. One line per beat on `out`.
[[nodiscard]] int run_beat(const BeatOptions& options, std::FILE* out);

}  // namespace pulse::app
