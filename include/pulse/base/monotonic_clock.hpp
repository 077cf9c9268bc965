// MonotonicClock: the one clock for deadlines inside this process (timers, timeouts, cache
// revalidation, log rate limits). Presence has its own injectable presence::Clock.
#pragma once

#include <chrono>

namespace pulse::base {

using MonotonicClock = std::chrono::steady_clock;

}  // namespace pulse::base
