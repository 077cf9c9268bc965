// Probe: one GET with a deadline; the exit status is the verdict.
#include "pulse/app/probe.hpp"

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "pulse/app/http_client.hpp"

namespace pulse::app {

int run_probe(const ProbeOptions& options) {
  const auto url = parse_url(options.url);
  if (!url) {
    fmt::print(stderr, "pulsehttpd probe: not an http:// URL: {}\n", options.url);
    return 2;
  }
  try {
    HttpClient client(url->host, url->port, options.timeout);
    const auto response = client.request("GET", url->target, {}, {{"Connection", "close"}});
    if (response.status >= 200 && response.status < 300) return 0;
    fmt::print(stderr, "pulsehttpd probe: {} answered {}\n", options.url, response.status);
  } catch (const std::exception& e) {
    fmt::print(stderr, "pulsehttpd probe: {}: {}\n", options.url, e.what());
  }
  return 1;
}

}  // namespace pulse::app
