// `pulsehttpd probe URL`: a health check that needs no shell or curl in a container image.
#pragma once

#include "pulse/app/config.hpp"

namespace pulse::app {

// GETs the URL; returns 0 on a 2xx within the timeout, 1 otherwise (reason on stderr).
[[nodiscard]] int run_probe(const ProbeOptions& options);

}  // namespace pulse::app
