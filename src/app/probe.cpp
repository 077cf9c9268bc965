// Probe: one GET with a deadline; the exit status is the verdict.
#include "pulse/app/probe.hpp"

#include <cstdio>
#include <exception>

#include "pulse/app/http_client.hpp"

namespace pulse::app {

int run_probe(const ProbeOptions& options) {
  const auto url = parse_url(options.url);
  if (!url) {
    std::fprintf(stderr, "pulsehttpd probe: not an http:// URL: %s\n", options.url.c_str());
    return 2;
  }
  try {
    HttpClient client(url->host, url->port, options.timeout);
    const auto response = client.request("GET", url->target, {}, {{"Connection", "close"}});
    if (response.status >= 200 && response.status < 300) return 0;
    std::fprintf(stderr, "pulsehttpd probe: %s answered %d\n", options.url.c_str(), response.status);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pulsehttpd probe: %s: %s\n", options.url.c_str(), e.what());
  }
  return 1;
}

}  // namespace pulse::app
