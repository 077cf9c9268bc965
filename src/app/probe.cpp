// Probe: one GET with a deadline; the exit status is the verdict.
#include "pulse/app/probe.hpp"

#include <csignal>
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "pulse/app/curl_client.hpp"

namespace pulse::app {

int run_probe(const ProbeOptions& options) {
  const auto url = http_url(options.url);
  if (!url) {
    fmt::print(stderr, "pulsehttpd probe: not an http:// or https:// URL: {}\n", options.url);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  try {
    CurlClient client({.timeout = options.timeout, .ca_file = options.ca_file});
    const auto response = client.request("GET", *url, {}, {{"Connection", "close"}});
    if (response.status >= 200 && response.status < 300) return 0;
    fmt::print(stderr, "pulsehttpd probe: {} answered {}\n", options.url, response.status);
  } catch (const std::exception& e) {
    fmt::print(stderr, "pulsehttpd probe: {}: {}\n", options.url, e.what());
  }
  return 1;
}

}  // namespace pulse::app
