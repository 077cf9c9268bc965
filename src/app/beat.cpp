// Beat client: POST /heartbeat/{id} every interval over a persistent connection, or (--hold) one
// GET /heartbeat/{id}/hold held open and reopened when it drops.
#include "pulse/app/beat.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <exception>
#include <random>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "pulse/app/curl_client.hpp"
#include "pulse/base/unique_fd.hpp"

namespace pulse::app {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kRequestTimeout{5000};
// --hold: the wait before a reconnect starts at 1 s and doubles while attempts fail, up to 30 s;
// a connection that was held starts the count again.
constexpr std::chrono::milliseconds kHoldFirstBackoff = 1s;
constexpr std::chrono::milliseconds kHoldMaxBackoff = 30s;

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

// Interrupted: sign off so the server lists us as gone, not down.
void sign_off(CurlClient& client, const std::string& url, const std::vector<http::Header>& headers, std::FILE* out) {
  try {
    const auto response = client.request("DELETE", url, {}, headers);
    fmt::print(out, "signed off: {}\n", response.status);
  } catch (const std::exception& e) {
    fmt::print(out, "sign-off failed: {}\n", e.what());
  }
  std::fflush(out);
}

int run_beats(const BeatOptions& options, CurlClient& client, const std::string& url,
              const std::vector<http::Header>& headers, int signal_fd, std::FILE* out) {
  std::string query = fmt::format("interval={}&status={}", options.interval.count(), options.status);
  if (!options.message.empty()) query += "&msg=" + query_escape(options.message);
  const auto beat_url = http_url(url, {}, query).value_or(url);
  int exit_code = 0;
  for (std::uint64_t n = 1; options.count == 0 || n <= options.count; ++n) {
    // libcurl reuses the kept-alive connection, and when the server closed it while idle (its
    // keep-alive timeout is often shorter than the interval) it notices and connects afresh.
    try {
      const auto response = client.request("POST", beat_url, {}, headers);
      exit_code = response.status / 100 == 2 ? 0 : 1;
      fmt::print(out, "beat {}: {} (connection #{}){}\n", n, response.status, client.connections(),
                 advice(response.status, !options.token.empty()));
    } catch (const std::exception& e) {
      fmt::print(out, "beat {}: failed: {}; will reconnect\n", n, e.what());
      exit_code = 1;
    }
    std::fflush(out);
    if (options.count != 0 && n == options.count) break;
    if (wait_for_signal(signal_fd, options.interval)) {
      sign_off(client, url, headers, out);
      break;
    }
  }
  return exit_code;
}

// Reads the event stream of a held connection line by line, to tell when the server has
// confirmed the hold (`event: held`). Liveness itself is any byte, which CurlClient tracks.
class HoldReader {
 public:
  // True when `bytes` completed the `event: held` line.
  bool feed(std::string_view bytes) {
    bool held = false;
    for (const char c : bytes) {
      if (c != '\n') {
        // A line longer than any the server sends is not one we look for: keep only its start.
        if (line_.size() < 64) line_.push_back(c);
        continue;
      }
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      held = held || line_ == "event: held" || line_ == "event:held";
      line_.clear();
    }
    return held;
  }

 private:
  std::string line_;
};

std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

int run_hold(const BeatOptions& options, CurlClient& client, const std::string& url,
             const std::vector<http::Header>& headers, int signal_fd, std::FILE* out) {
  // ".../heartbeat/" + "hold" would name a client called "hold".
  if (url.ends_with('/')) {
    fmt::print(stderr, "pulsehttpd beat: the URL must end with the client's id (.../heartbeat/ID): {}\n", url);
    return 2;
  }
  std::string query;
  if (!options.message.empty()) query = "msg=" + query_escape(options.message);
  const auto hold_url = http_url(url, "/hold", query);
  if (!hold_url) {
    fmt::print(stderr, "pulsehttpd beat: cannot make the /hold URL of {}\n", url);
    return 2;
  }
  std::vector<http::Header> hold_headers = headers;
  hold_headers.push_back({"Accept", "text/event-stream"});
  // Jitter spreads the reconnects of a fleet that lost one server at the same moment.
  std::mt19937_64 random{std::random_device{}()};
  auto backoff = kHoldFirstBackoff;
  // Sign off at the end only for an id this process held: one refused from the start (another
  // holder, a wrong path) is not this process's to delete.
  bool ever_held = false;
  int status = 0;
  for (std::uint64_t n = 1;; ++n) {
    bool held = false;
    HoldReader reader;
    const auto started = std::chrono::steady_clock::now();
    StreamResult result;
    try {
      result = client.stream(*hold_url, hold_headers, options.hold_idle, signal_fd, [&](std::string_view bytes) {
        if (reader.feed(bytes) && !held) {
          held = true;
          fmt::print(out, "hold {}: held (connection #{})\n", n, client.connections());
          std::fflush(out);
        }
      });
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    ever_held = ever_held || held;
    if (result.end == StreamEnd::kCancelled) break;
    // A request the server will refuse every time: a malformed id, a path it does not serve, a
    // method it does not allow. Waiting and retrying would only hide the mistake.
    if (!held && (result.status == 400 || result.status == 404 || result.status == 405)) {
      const auto first_line = std::string_view(result.body).substr(0, result.body.find('\n'));
      fmt::print(stderr, "pulsehttpd beat: {} answered {}{}{}; not retrying\n", *hold_url, result.status,
                 first_line.empty() ? "" : ": ", first_line);
      status = 1;
      break;
    }
    const auto lasted =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    // Times are said only for a connection that lasted: a refused connect takes none.
    std::string why;
    if (result.status != 0 && result.status / 100 != 2) {
      const auto first_line = std::string_view(result.body).substr(0, result.body.find('\n'));
      why = fmt::format("{}{}{}{}", result.status, advice(result.status, !options.token.empty()),
                        first_line.empty() ? "" : ": ", first_line);
    } else if (result.end == StreamEnd::kIdle) {
      why = fmt::format("no bytes for {}, taken for dead after {}", seconds_text(options.hold_idle),
                        seconds_text(lasted));
    } else if (!held) {
      why = result.error.empty() ? "closed by the server before it was held" : "failed: " + result.error;
    } else {
      why = result.error.empty() ? fmt::format("dropped by the server after {}", seconds_text(lasted))
                                 : fmt::format("dropped after {}: {}", seconds_text(lasted), result.error);
    }
    if (held) backoff = kHoldFirstBackoff;
    // Between half the back-off and all of it.
    std::uniform_int_distribution<std::int64_t> spread(backoff.count() / 2, backoff.count());
    const std::chrono::milliseconds wait{spread(random)};
    fmt::print(out, "hold {}: {}; reconnecting in {}\n", n, why, seconds_text(wait));
    std::fflush(out);
    backoff = std::min(backoff * 2, kHoldMaxBackoff);
    if (wait_for_signal(signal_fd, wait)) break;
  }
  if (ever_held) sign_off(client, url, headers, out);
  return status;
}

}  // namespace

int run_beat(const BeatOptions& options, std::FILE* out) {
  const auto url = http_url(options.url);
  if (!url) {
    fmt::print(stderr, "pulsehttpd beat: not an http:// or https:// URL: {}\n", options.url);
    return 2;
  }
  // Ctrl-C arrives as a readable fd, so the wait between beats, and a held stream, are
  // interruptible.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  base::UniqueFd signals(::signalfd(-1, &mask, SFD_CLOEXEC));
  // A server that resets the connection mid-write must not kill the client.
  std::signal(SIGPIPE, SIG_IGN);

  // A header, not ?token=: the URL of a beat may end up in logs along the way.
  std::vector<http::Header> headers;
  if (!options.token.empty()) headers.push_back({"Authorization", "Bearer " + options.token});

  try {
    CurlClient client({.timeout = kRequestTimeout, .ca_file = options.ca_file});
    return options.hold ? run_hold(options, client, *url, headers, signals.get(), out)
                        : run_beats(options, client, *url, headers, signals.get(), out);
  } catch (const std::exception& e) {
    fmt::print(stderr, "pulsehttpd beat: {}\n", e.what());
    return 1;
  }
}

}  // namespace pulse::app
