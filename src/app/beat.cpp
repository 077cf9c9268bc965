// Beat client: POST /heartbeat/{id} every interval over a persistent connection.
#include "pulse/app/beat.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <exception>
#include <memory>

#include <fmt/format.h>

#include "pulse/app/http_client.hpp"
#include "pulse/net/unique_fd.hpp"

namespace pulse::app {
namespace {

constexpr std::chrono::milliseconds kRequestTimeout{5000};

std::string query_escape(std::string_view in) {
  std::string out;
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

}  // namespace

int run_beat(const BeatOptions& options, std::FILE* out) {
  const auto url = parse_url(options.url);
  if (!url) {
    std::fprintf(stderr, "pulsehttpd beat: not an http:// URL: %s\n", options.url.c_str());
    return 2;
  }
  // Ctrl-C arrives as a readable fd, so the wait between beats is interruptible.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  net::UniqueFd signals(::signalfd(-1, &mask, SFD_CLOEXEC));

  std::string target = fmt::format("{}?interval={}&status={}", url->target, options.interval.count(), options.status);
  if (!options.message.empty()) target += "&msg=" + query_escape(options.message);

  std::unique_ptr<HttpClient> client;
  std::uint64_t connections = 0;
  int exit_code = 0;
  for (std::uint64_t n = 1; options.count == 0 || n <= options.count; ++n) {
    try {
      if (!client) {
        client = std::make_unique<HttpClient>(url->host, url->port, kRequestTimeout);
        ++connections;
      }
      const auto response = client->request("POST", target);
      exit_code = response.status / 100 == 2 ? 0 : 1;
      std::fprintf(out, "beat %llu: %d (connection #%llu)\n", static_cast<unsigned long long>(n), response.status,
                   static_cast<unsigned long long>(connections));
      if (!response.keep_alive) client.reset();
    } catch (const std::exception& e) {
      std::fprintf(out, "beat %llu: failed: %s; will reconnect\n", static_cast<unsigned long long>(n), e.what());
      client.reset();
      exit_code = 1;
    }
    std::fflush(out);
    if (options.count != 0 && n == options.count) break;
    pollfd p{signals.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(options.interval).count())) > 0) {
      // Interrupted: sign off so the server lists us as gone, not down.
      try {
        if (!client) client = std::make_unique<HttpClient>(url->host, url->port, kRequestTimeout);
        const auto response = client->request("DELETE", url->target);
        std::fprintf(out, "signed off: %d\n", response.status);
      } catch (const std::exception& e) {
        std::fprintf(out, "sign-off failed: %s\n", e.what());
      }
      break;
    }
  }
  return exit_code;
}

}  // namespace pulse::app
