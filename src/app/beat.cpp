// Beat client: POST /heartbeat/{id} every interval over a persistent connection.
#include "pulse/app/beat.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <exception>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "pulse/app/http_client.hpp"
#include "pulse/base/unique_fd.hpp"

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

// Sends one request over `client`, connecting first if needed. A kept-alive connection may
// have been closed by the server while idle (its keep-alive timeout is often shorter than the
// beat interval); that shows as a failure on first use, so a reused connection gets exactly one
// retry on a fresh one.
ClientResponse send(std::unique_ptr<HttpClient>& client, const Url& url, std::string_view method,
                    const std::string& target, const std::vector<http::Header>& headers, std::uint64_t& connections) {
  const bool reused = client != nullptr;
  if (reused) {
    try {
      auto response = client->request(method, target, {}, headers);
      if (!response.keep_alive) client.reset();
      return response;
    } catch (const std::exception&) {
      client.reset();
    }
  }
  client = std::make_unique<HttpClient>(url.host, url.port, kRequestTimeout);
  ++connections;
  auto response = client->request(method, target, {}, headers);
  if (!response.keep_alive) client.reset();
  return response;
}

// Waits up to `wait` for SIGINT/SIGTERM on the signalfd; true when one arrived.
bool wait_for_signal(int signal_fd, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // poll() takes an int of milliseconds: wait in slices of at most an hour.
    pollfd p{signal_fd, POLLIN, 0};
    const auto slice = std::min<std::int64_t>(left.count(), 3'600'000);
    if (::poll(&p, 1, static_cast<int>(slice)) > 0) return true;
  }
}

// What a refusal means for the person running the client; empty for other statuses.
std::string_view advice(int status, bool has_token) {
  if (status != 401) return {};
  return has_token ? ": the server refused the token in PULSE_HEARTBEAT_TOKEN"
                   : ": the server needs a heartbeat token; set PULSE_HEARTBEAT_TOKEN";
}

}  // namespace

int run_beat(const BeatOptions& options, std::FILE* out) {
  const auto url = parse_url(options.url);
  if (!url) {
    fmt::print(stderr, "pulsehttpd beat: not an http:// URL: {}\n", options.url);
    return 2;
  }
  // Ctrl-C arrives as a readable fd, so the wait between beats is interruptible.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  base::UniqueFd signals(::signalfd(-1, &mask, SFD_CLOEXEC));

  std::string target = fmt::format("{}?interval={}&status={}", url->target, options.interval.count(), options.status);
  if (!options.message.empty()) target += "&msg=" + query_escape(options.message);

  // A header, not ?token=: the URL of a beat may end up in logs along the way.
  std::vector<http::Header> headers;
  if (!options.token.empty()) headers.push_back({"Authorization", "Bearer " + options.token});

  std::unique_ptr<HttpClient> client;
  std::uint64_t connections = 0;
  int exit_code = 0;
  for (std::uint64_t n = 1; options.count == 0 || n <= options.count; ++n) {
    try {
      const auto response = send(client, *url, "POST", target, headers, connections);
      exit_code = response.status / 100 == 2 ? 0 : 1;
      fmt::print(out, "beat {}: {} (connection #{}){}\n", n, response.status, connections,
                 advice(response.status, !options.token.empty()));
    } catch (const std::exception& e) {
      fmt::print(out, "beat {}: failed: {}; will reconnect\n", n, e.what());
      client.reset();
      exit_code = 1;
    }
    std::fflush(out);
    if (options.count != 0 && n == options.count) break;
    if (wait_for_signal(signals.get(), options.interval)) {
      // Interrupted: sign off so the server lists us as gone, not down.
      try {
        const auto response = send(client, *url, "DELETE", url->target, headers, connections);
        fmt::print(out, "signed off: {}\n", response.status);
      } catch (const std::exception& e) {
        fmt::print(out, "sign-off failed: {}\n", e.what());
      }
      break;
    }
  }
  return exit_code;
}

}  // namespace pulse::app
