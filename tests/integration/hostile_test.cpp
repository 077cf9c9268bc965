// Hostile clients over real sockets, each test bounded in time and in count: slowloris headers
// and trickled bodies, thousands of idle keep-alive connections, the connection limit, running
// out of descriptors, a pipeline that is never read, and resets in the middle of responses.
// Event streams that never read and 10,000-client lists are in heartbeat_scale_test.cpp.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pulse/base/unique_fd.hpp"
#include "support/process_stats.hpp"
#include "support/raw_socket.hpp"
#include "support/test_server.hpp"

using namespace std::chrono_literals;
using pulse::base::UniqueFd;
using pulse::test::Input;
using pulse::test::TestServer;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Sanitizers make everything slower (TSan about 5-10x) and ASan's quarantine makes freed memory
// look resident: counts shrink and time and memory bounds widen under them.
#if defined(__SANITIZE_THREAD__)
#define PULSE_HOSTILE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PULSE_HOSTILE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PULSE_HOSTILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PULSE_HOSTILE_ASAN 1
#endif
#endif

namespace {

#if defined(PULSE_HOSTILE_TSAN)
constexpr int kSlowdown = 6;      // time bounds are multiplied by this
constexpr int kCountDivisor = 5;  // client counts are divided by this
constexpr long kMemorySlackKib = 64 * 1024;
#elif defined(PULSE_HOSTILE_ASAN)
constexpr int kSlowdown = 3;
constexpr int kCountDivisor = 1;
constexpr long kMemorySlackKib = 64 * 1024;
#else
constexpr int kSlowdown = 1;
constexpr int kCountDivisor = 1;
constexpr long kMemorySlackKib = 0;
#endif
constexpr bool kSanitized = kSlowdown > 1;

constexpr int scaled(int count) {
  return count / kCountDivisor;
}
constexpr Millis slack(Millis bound) {
  return bound * kSlowdown;
}

// The figures a reader of the CI log wants even when everything passes.
void report(const std::string& line) {
  std::cout << "hostile: " << line << std::endl;
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Waits (bounded) for the server's count of open connections to reach `want`.
bool wait_for_open_connections(TestServer& test_server, std::int64_t want, Millis wait) {
  const auto deadline = Clock::now() + wait;
  while (Clock::now() < deadline) {
    if (test_server.server().stats().open_connections() == want) return true;
    std::this_thread::sleep_for(10ms);
  }
  return test_server.server().stats().open_connections() == want;
}

// A normal client beside the hostile ones: a fresh connection and `GET /healthz` every `period`,
// timed from connect to the end of the response, on its own thread until destroyed.
class HealthProbe {
 public:
  HealthProbe(const TestServer& server, Millis period) : server_(server), period_(period) {
    thread_ = std::thread([this] { run(); });
  }
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;
  ~HealthProbe() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Latencies in ms of the answered probes, sorted; `failures()` counts the rest.
  [[nodiscard]] std::vector<double> latencies() const {
    std::lock_guard lock(mutex_);
    auto sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }
  [[nodiscard]] int failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  void run() {
    while (!stop_) {
      const auto started = Clock::now();
      bool ok = false;
      try {
        auto client = server_.connect(slack(2000ms));
        ok = client.request("GET", "/healthz").status == 200;
      } catch (const std::exception&) {
        ok = false;
      }
      const auto took = Clock::now() - started;
      {
        std::lock_guard lock(mutex_);
        if (ok) {
          latencies_.push_back(ms(took));
        } else {
          ++failures_;
        }
      }
      std::this_thread::sleep_until(started + period_);
    }
  }

  const TestServer& server_;
  const Millis period_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<double> latencies_;  // guarded by mutex_
  int failures_ = 0;               // guarded by mutex_
  std::thread thread_;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return -1;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

void check_probe(const HealthProbe& probe, const std::string& during, Millis bound, std::size_t at_least) {
  const auto latencies = probe.latencies();
  report(fmt::format("{}: {} health probes, latency p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms, {} failed", during,
                     latencies.size(), percentile(latencies, 0.5), percentile(latencies, 0.99),
                     latencies.empty() ? -1.0 : latencies.back(), probe.failures()));
  INFO("health probes during " << during);
  CHECK(probe.failures() == 0);
  CHECK(latencies.size() >= at_least);
  // All but one under the bound, and that one not far over: one probe descheduled on a busy
  // two-core machine says nothing about the server, a server that stalls delays several.
  if (latencies.size() >= 2) CHECK(latencies[latencies.size() - 2] < static_cast<double>(bound.count()));
  if (!latencies.empty()) CHECK(latencies.back() < static_cast<double>((bound * 5).count()));
}

// One GET /healthz over `fd`, its response read; true on 200.
bool healthz_over(int fd) {
  if (!pulse::test::send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")) return false;
  std::string buffer;
  return pulse::test::read_response(fd, buffer, slack(2000ms)) == 200;
}

// ---- 1. slowloris and slow bodies ----------------------------------------------------------------

enum class Slowness { kHeaders, kBody };

struct SlowClient {
  Slowness kind = Slowness::kHeaders;
  UniqueFd fd;
  Clock::time_point clock_started;  // the first header byte (kHeaders) or the end of the headers (kBody)
  std::size_t sent = 0;
  std::string received;
  Clock::time_point answered{};  // when the first byte of the server's answer (or its close) arrived
};

struct Cut {
  Slowness kind;
  Clock::duration after;  // from clock_started to the answer
  int status;             // 408, or 0 when closed without a word
  bool closed;            // the connection ended (not merely answered)
};

constexpr std::string_view kSlowHead = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ";
constexpr std::string_view kSlowBodyHead =
    "POST /heartbeat/slow-body HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n";

SlowClient open_slow(std::uint16_t port, Slowness kind) {
  SlowClient client;
  client.kind = kind;
  client.fd = pulse::test::connect_local(port);
  // A header byte starts the header clock; a complete head starts the body clock.
  // Read before sending: the server cannot see the bytes earlier, so a cut measured from here
  // is never shorter than the server's timeout, however long this thread is descheduled.
  const std::string_view first = kind == Slowness::kHeaders ? kSlowHead.substr(0, 1) : kSlowBodyHead;
  client.clock_started = Clock::now();
  REQUIRE(pulse::test::send_all(client.fd.get(), first));
  client.sent = first.size();
  return client;
}

// One more byte of the never-ending header or body; false when the server has gone.
bool trickle(SlowClient& client) {
  char byte = 'b';
  if (client.kind == Slowness::kHeaders) byte = client.sent < kSlowHead.size() ? kSlowHead[client.sent] : 'a';
  const auto n = ::send(client.fd.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n == 1) ++client.sent;
  return n == 1 || errno == EAGAIN || errno == EWOULDBLOCK;
}

// Drains what arrived; true when the connection has ended.
bool drain(SlowClient& client) {
  char chunk[4096];
  for (;;) {
    const auto n = ::recv(client.fd.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      client.received.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0 && errno == EINTR) continue;
    return true;  // EOF or reset
  }
}

}  // namespace

TEST_CASE("slowloris headers and trickled bodies are cut at their timeouts, a normal client served throughout",
          "[integration][hostile]") {
  pulse::test::raise_descriptor_limit();
  constexpr Millis kHeaderTimeout = 1000ms;
  constexpr Millis kBodyTimeout = 1500ms;
  constexpr Millis kTick = 100ms;         // one byte per slow client per tick
  constexpr Millis kRespawnFor = 2500ms;  // cut clients are replaced until then: about three waves
  constexpr Millis kEarly = 30ms;         // clock granularity: a cut this much before its timeout is fine
  const Millis late = slack(400ms);       // how long after its timeout a cut may come
  const int slow_headers = scaled(500);
  const int slow_bodies = scaled(200);

  auto config = TestServer::default_config();
  config.limits.header_timeout = kHeaderTimeout;
  config.limits.body_timeout = kBodyTimeout;
  TestServer server(config);

  std::vector<SlowClient> active;
  std::vector<Cut> cuts;
  active.reserve(static_cast<std::size_t>(slow_headers + slow_bodies));
  const auto started = Clock::now();
  HealthProbe probe(server, 100ms);
  for (int i = 0; i < slow_headers; ++i) active.push_back(open_slow(server.port(), Slowness::kHeaders));
  for (int i = 0; i < slow_bodies; ++i) active.push_back(open_slow(server.port(), Slowness::kBody));

  auto next_tick = Clock::now() + kTick;
  const auto hard_stop = started + kRespawnFor + kBodyTimeout + slack(3000ms);
  std::vector<pollfd> polled;
  while (!active.empty() && Clock::now() < hard_stop) {
    if (Clock::now() >= next_tick) {
      next_tick += kTick;
      for (auto& client : active) {
        if (client.answered == Clock::time_point{} && !trickle(client)) client.answered = Clock::now();
      }
    }
    polled.clear();
    for (const auto& client : active) polled.push_back({client.fd.get(), POLLIN, 0});
    const auto wait = std::max<long>(1, std::chrono::duration_cast<Millis>(next_tick - Clock::now()).count());
    ::poll(polled.data(), polled.size(), static_cast<int>(std::min<long>(wait, kTick.count())));
    std::vector<Slowness> respawn;
    for (std::size_t i = 0; i < active.size();) {
      auto& client = active[i];
      bool ended = false;
      if (polled[i].revents != 0) {
        ended = drain(client);
        if (client.answered == Clock::time_point{}) client.answered = Clock::now();
      }
      // Answered but not closed after a generous wait: recorded as not closed.
      const bool gave_up = client.answered != Clock::time_point{} && Clock::now() - client.answered > slack(1000ms);
      if (ended || gave_up) {
        cuts.push_back(
            {client.kind, client.answered - client.clock_started, pulse::test::status_of(client.received), ended});
        if (Clock::now() - started < kRespawnFor) respawn.push_back(client.kind);
        active[i] = std::move(active.back());
        polled[i] = polled.back();
        active.pop_back();
        polled.pop_back();
      } else {
        ++i;
      }
    }
    for (const auto kind : respawn) active.push_back(open_slow(server.port(), kind));
  }
  probe.stop();
  const auto elapsed = Clock::now() - started;
  INFO(active.size() << " slow clients still open after " << ms(elapsed) << " ms");
  REQUIRE(active.empty());

  for (const auto kind : {Slowness::kHeaders, Slowness::kBody}) {
    const bool headers = kind == Slowness::kHeaders;
    const Millis timeout = headers ? kHeaderTimeout : kBodyTimeout;
    std::vector<double> after;
    int with_408 = 0;
    int closed = 0;
    for (const auto& cut : cuts) {
      if (cut.kind != kind) continue;
      after.push_back(ms(cut.after));
      with_408 += cut.status == 408 ? 1 : 0;
      closed += cut.closed ? 1 : 0;
    }
    std::sort(after.begin(), after.end());
    const char* name = headers ? "slowloris headers" : "slow bodies";
    report(fmt::format("{}: {} cut ({} with 408, {} closed), {:.0f}..{:.0f} ms after the {} ms timeout's start", name,
                       after.size(), with_408, closed, after.empty() ? -1.0 : after.front(),
                       after.empty() ? -1.0 : after.back(), timeout.count()));
    INFO(name);
    CHECK(after.size() >= static_cast<std::size_t>(headers ? slow_headers : slow_bodies));
    CHECK(closed == static_cast<int>(after.size()));
    // A request still arriving is told why it ends.
    CHECK(with_408 == static_cast<int>(after.size()));
    // At its own timeout: a trickled body outlives the header timeout (bytes keep coming) and
    // ends at the body timeout; a header never outlives the header timeout.
    if (!after.empty()) {
      CHECK(after.front() >= static_cast<double>((timeout - kEarly).count()));
      CHECK(after.back() <= static_cast<double>((timeout + late).count()));
    }
  }
  check_probe(probe, "slowloris", slack(200ms), 20);
}

TEST_CASE(
    "5,000 idle keep-alive connections cost little memory each, leave service prompt, and close at the "
    "keep-alive timeout",
    "[integration][hostile]") {
  pulse::test::raise_descriptor_limit();
  const int idle_count = scaled(5000);
  const Millis keepalive = kSanitized ? 10000ms : 6000ms;  // time to open them all before the first closes
  auto config = TestServer::default_config();
  config.limits.keepalive_timeout = keepalive;
  TestServer server(config);

  // Warm up what any connection brings into being once: each worker's scratch buffer, the
  // allocator's per-thread arenas, the router's first dispatch.
  {
    std::vector<UniqueFd> warm;
    for (int i = 0; i < 200; ++i) {
      warm.push_back(pulse::test::connect_local(server.port()));
      REQUIRE(healthz_over(warm.back().get()));
    }
  }
  REQUIRE(wait_for_open_connections(server, 0, slack(2000ms)));

  struct Idle {
    UniqueFd fd;
    Clock::time_point sent;  // read before the request went: the server's clock starts later
    Clock::time_point answered;
    Clock::time_point closed{};
  };
  std::vector<Idle> idle(static_cast<std::size_t>(idle_count));
  const long before_kib = pulse::test::resident_kib();
  constexpr int kBatch = 100;
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  std::string buffer;
  for (int first = 0; first < idle_count; first += kBatch) {
    const int last = std::min(idle_count, first + kBatch);
    for (int i = first; i < last; ++i) {
      idle[i].fd = pulse::test::connect_local(server.port());
      idle[i].sent = Clock::now();
      REQUIRE(pulse::test::send_all(idle[i].fd.get(), request));
    }
    for (int i = first; i < last; ++i) {
      buffer.clear();
      REQUIRE(pulse::test::read_response(idle[i].fd.get(), buffer, slack(2000ms)) == 200);
      idle[i].answered = Clock::now();
    }
  }
  const auto opened_in = Clock::now() - idle.front().answered;
  std::this_thread::sleep_for(200ms);  // let every worker settle
  const long after_kib = pulse::test::resident_kib();
  REQUIRE(server.server().stats().open_connections() == idle_count);
  REQUIRE(Clock::now() - idle.front().answered < keepalive - 500ms);  // all still open when measured

  const double per_connection = static_cast<double>(after_kib - before_kib) * 1024.0 / idle_count;
  report(
      fmt::format("{} idle keep-alive connections opened in {:.0f} ms: resident {} -> {} KiB, {:.0f} bytes per "
                  "connection (server and client side)",
                  idle_count, ms(opened_in), before_kib, after_kib, per_connection));
  CHECK(per_connection < 16.0 * 1024 + static_cast<double>(kMemorySlackKib) * 1024.0 / idle_count);

  // A normal client while they idle.
  {
    HealthProbe probe(server, 50ms);
    std::this_thread::sleep_for(1000ms);
    probe.stop();
    check_probe(probe, fmt::format("{} idle connections", idle_count), slack(200ms), 10);
  }

  // Each closes at its keep-alive timeout, counted from its response.
  const Millis late = slack(1000ms);
  const auto deadline = idle.back().answered + keepalive + late + 500ms;
  std::vector<pollfd> polled;
  std::vector<std::size_t> index;
  std::size_t open_count = idle.size();
  while (open_count > 0 && Clock::now() < deadline) {
    polled.clear();
    index.clear();
    for (std::size_t i = 0; i < idle.size(); ++i) {
      if (idle[i].closed != Clock::time_point{}) continue;
      polled.push_back({idle[i].fd.get(), POLLIN, 0});
      index.push_back(i);
    }
    ::poll(polled.data(), polled.size(), 50);
    for (std::size_t k = 0; k < polled.size(); ++k) {
      if (polled[k].revents == 0) continue;
      std::string ignored;
      if (pulse::test::read_some(polled[k].fd, ignored, 0ms) == Input::kEnd) {
        idle[index[k]].closed = Clock::now();
        idle[index[k]].fd.reset();
        --open_count;
      }
    }
  }
  INFO(open_count << " idle connections still open " << ms(Clock::now() - idle.back().answered)
                  << " ms after the last was answered");
  REQUIRE(open_count == 0);
  // The earliest from before each request was sent (the server cannot have started the clock
  // sooner), the latest from after its response was read (nor later).
  double earliest = 1e12;
  double latest = 0;
  for (const auto& connection : idle) {
    earliest = std::min(earliest, ms(connection.closed - connection.sent));
    latest = std::max(latest, ms(connection.closed - connection.answered));
  }
  report(fmt::format("idle connections closed {:.0f} ms after their request at the earliest, {:.0f} ms after their "
                     "response at the latest (keep-alive timeout {} ms)",
                     earliest, latest, keepalive.count()));
  CHECK(earliest >= static_cast<double>((keepalive - 50ms).count()));
  CHECK(latest <= static_cast<double>((keepalive + late).count()));
  CHECK(wait_for_open_connections(server, 0, slack(1000ms)));
}

TEST_CASE(
    "at --max-connections, extra connections get 503 and are closed, the acceptor stays idle, and service "
    "resumes when connections close",
    "[integration][hostile]") {
  constexpr int kMax = 50;
  auto config = TestServer::default_config();
  config.limits.max_connections = kMax;
  config.limits.keepalive_timeout = 30s;
  TestServer server(config);

  std::vector<UniqueFd> held;
  for (int i = 0; i < kMax; ++i) {
    held.push_back(pulse::test::connect_local(server.port()));
    REQUIRE(healthz_over(held.back().get()));
  }
  REQUIRE(server.server().stats().open_connections() == kMax);

  const auto refused_before = server.server().stats().refused_connections();
  // Refused: one 503 that needs no request, then the end of the connection.
  const auto expect_refused = [&] {
    auto extra = pulse::test::connect_local(server.port());
    std::string received;
    const bool closed = pulse::test::read_until_closed(extra.get(), received, slack(2000ms));
    INFO("a connection over the limit received: " << received);
    CHECK(pulse::test::status_of(received) == 503);
    CHECK(received.find("\r\nRetry-After: ") != std::string::npos);
    CHECK(closed);
    return extra;  // held open on our side: the server must not count it
  };
  for (int i = 0; i < 10; ++i) held.push_back(expect_refused());

  // Held at the limit for a second, with a new client refused every 100 ms: no spinning.
  const double cpu_before = pulse::test::cpu_seconds();
  const auto hold_started = Clock::now();
  int refused_while_holding = 0;
  while (Clock::now() - hold_started < 1000ms) {
    std::this_thread::sleep_for(100ms);
    auto refused = expect_refused();
    ++refused_while_holding;
  }
  const double cpu_per_second =
      (pulse::test::cpu_seconds() - cpu_before) / std::chrono::duration<double>(Clock::now() - hold_started).count();
  report(fmt::format("at {} connections: {:.3f} s of CPU per second (server and test), {} refused with 503", kMax,
                     cpu_per_second, 10 + refused_while_holding));
  CHECK(cpu_per_second < 0.3);
  CHECK(server.server().stats().refused_connections() - refused_before ==
        static_cast<std::uint64_t>(10 + refused_while_holding));
  CHECK(server.server().stats().open_connections() == kMax);

  // Five leave: five newcomers are served, and the sixth is refused again.
  for (int i = 0; i < 5; ++i) held[static_cast<std::size_t>(i)].reset();
  REQUIRE(wait_for_open_connections(server, kMax - 5, slack(2000ms)));
  for (int i = 0; i < 5; ++i) {
    held.push_back(pulse::test::connect_local(server.port()));
    CHECK(healthz_over(held.back().get()));
  }
  held.push_back(expect_refused());
}

// Starving the process of descriptors starves a sanitizer too: ASan and TSan need their
// own (to report, to read /proc/self/maps), and die silently without them. These two run in the
// Release build; tests/e2e/core.sh covers running out of descriptors for the real binary.
#if !defined(PULSE_HOSTILE_ASAN) && !defined(PULSE_HOSTILE_TSAN)
namespace {

// Redirects this process's standard error (where the server logs) into a file, and restores
// both it and the descriptor limit when destroyed, whatever fails in between.
class DescriptorStarvation {
 public:
  explicit DescriptorStarvation(const std::filesystem::path& log_path)
      : saved_stderr_(::dup(STDERR_FILENO)),
        log_(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) {
    REQUIRE(saved_stderr_);
    REQUIRE(log_);
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_limit_) == 0);
    std::fflush(stderr);
    REQUIRE(::dup2(log_.get(), STDERR_FILENO) == STDERR_FILENO);
  }
  DescriptorStarvation(const DescriptorStarvation&) = delete;
  DescriptorStarvation& operator=(const DescriptorStarvation&) = delete;
  ~DescriptorStarvation() { restore(); }

  // From now on no descriptor can be made: every number below the limit is taken.
  void starve() {
    const int lowest_free = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
    REQUIRE(lowest_free >= 0);
    UniqueFd probe(lowest_free);
    probe.reset();
    rlimit low = saved_limit_;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  }

  void restore() {
    if (restored_) return;
    restored_ = true;
    ::setrlimit(RLIMIT_NOFILE, &saved_limit_);
    std::fflush(stderr);
    ::dup2(saved_stderr_.get(), STDERR_FILENO);
  }

 private:
  UniqueFd saved_stderr_;
  UniqueFd log_;
  rlimit saved_limit_{};
  bool restored_ = false;
};

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What happened while the server had no descriptor to spare.
struct Starved {
  int victims = 0;            // newcomers that connected while no descriptor was free
  int shed = 0;               // of them, closed by the server (not left waiting in the backlog)
  std::uint64_t refused = 0;  // the server's count of refused connections meanwhile
  double cpu_seconds = 0;     // CPU of the whole process over the starved second
  int healthz_status = 0;     // GET /healthz over a connection opened before
  int file_status = 0;        // GET of a file (which needs a new descriptor) over that connection
  bool recovered = false;     // a newcomer served once five descriptors were freed
  std::vector<std::string> log;
};

// Starves the in-process server of descriptors for one second, with `victims` newcomers.
Starved starve_server(TestServer& server, int victims) {
  server.docroot().write("needs-a-descriptor.txt", "opened per request\n");
  const auto log_path =
      server.docroot().path().parent_path() / (server.docroot().path().filename().string() + "-stderr.log");
  // Everything the test needs while starved exists beforehand: a served keep-alive client and
  // unconnected sockets (connect() makes no descriptor; the server's accept() does).
  auto established = server.connect(slack(2000ms));
  REQUIRE(established.request("GET", "/healthz").status == 200);
  std::vector<UniqueFd> waiting;
  for (int i = 0; i < victims; ++i) waiting.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  UniqueFd newcomer(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  for (const auto& fd : waiting) REQUIRE(fd);
  REQUIRE(newcomer);

  Starved result;
  result.victims = victims;
  {
    DescriptorStarvation starvation(log_path);
    starvation.starve();
    {
      UniqueFd impossible(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      const int error = errno;
      REQUIRE_FALSE(impossible);
      REQUIRE(error == EMFILE);
    }
    const auto refused_before = server.server().stats().refused_connections();
    const double cpu_before = pulse::test::cpu_seconds();
    const auto starved_at = Clock::now();
    for (auto& fd : waiting) REQUIRE(pulse::test::connect_socket(fd.get(), server.port()));
    for (auto& fd : waiting) {
      std::string received;
      result.shed += pulse::test::read_until_closed(fd.get(), received, slack(2000ms)) ? 1 : 0;
    }
    result.refused = server.server().stats().refused_connections() - refused_before;
    result.healthz_status = established.request("GET", "/healthz").status;
    result.file_status = established.request("GET", "/needs-a-descriptor.txt").status;
    std::this_thread::sleep_until(starved_at + 1000ms);
    result.cpu_seconds = pulse::test::cpu_seconds() - cpu_before;

    for (int i = 0; i < 5; ++i) waiting[static_cast<std::size_t>(i)].reset();
    REQUIRE(pulse::test::connect_socket(newcomer.get(), server.port()));
    result.recovered = healthz_over(newcomer.get());
    starvation.restore();
    result.log = lines_of(log_path);
  }
  std::filesystem::remove(log_path);
  report(
      fmt::format("out of descriptors: {} of {} newcomers shed, {} counted as refused, {:.3f} s of CPU in 1 s, "
                  "healthz {}, file {}, recovered {}, {} log lines",
                  result.shed, victims, result.refused, result.cpu_seconds, result.healthz_status, result.file_status,
                  result.recovered, result.log.size()));
  for (const auto& line : result.log) report("  logged: " + line);
  return result;
}

}  // namespace

TEST_CASE("out of file descriptors: the server survives, sheds newcomers without spinning, and recovers",
          "[integration][hostile]") {
  auto config = TestServer::default_config();
  config.threads = 1;
  config.limits.keepalive_timeout = 30s;
  TestServer server(config);
  const Starved starved = starve_server(server, 40);
  // Each newcomer is shed (accepted on the spare descriptor and closed), not left waiting.
  CHECK(starved.shed == starved.victims);
  CHECK(starved.cpu_seconds < 0.3);
  // Connections already open keep being served. A file needs a descriptor: 503, unless the
  // worker happened to take the one the acceptor freed for a moment (see the next test).
  CHECK(starved.healthz_status == 200);
  CHECK((starved.file_status == 503 || starved.file_status == 200));
  CHECK(starved.recovered);
  CHECK(starved.log.size() <= 20);  // rate-limited, never a line per attempt
  for (int i = 0; i < 20; ++i) {
    auto client = server.connect(slack(2000ms));
    CHECK(client.request("GET", "/needs-a-descriptor.txt").status == 200);
  }
}

// With no descriptor free, accept4() fails with EMFILE whether or not a connection is pending:
// the acceptor must count (and log) only connections it really shed, and keep its spare.
TEST_CASE("out of file descriptors: each shed connection is counted once, and the error log says so",
          "[integration][hostile]") {
  auto config = TestServer::default_config();
  config.threads = 1;
  TestServer server(config);
  const Starved starved = starve_server(server, 40);
  CHECK(starved.refused == static_cast<std::uint64_t>(starved.victims));
  CHECK(starved.file_status == 503);
  const auto mentions_descriptors = [](const std::string& line) {
    return line.find("accept") != std::string::npos && line.find("open files") != std::string::npos;
  };
  CHECK(std::any_of(starved.log.begin(), starved.log.end(), mentions_descriptors));
}
#endif  // no sanitizer

TEST_CASE(
    "a client that pipelines 100,000 requests and never reads: memory stays bounded and the write timeout "
    "closes it",
    "[integration][hostile]") {
  constexpr int kRequests = 100'000;
  constexpr Millis kWriteTimeout = 1000ms;
  constexpr long kBoundKib = 64 * 1024;
  auto config = TestServer::default_config();
  config.limits.write_timeout = kWriteTimeout;
  config.limits.max_requests_per_connection = 0;  // no cap: back-pressure alone must hold it
  TestServer server(config);

  std::string pipeline;
  for (int i = 0; i < kRequests; ++i) pipeline += "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  {
    auto warm = server.connect();
    REQUIRE(warm.request("GET", "/healthz").status == 200);
  }
  const long before_kib = pulse::test::resident_kib();
  long peak_kib = before_kib;
  const auto requests_before = server.server().stats().requests_total();

  auto hog = pulse::test::connect_local(server.port());
  REQUIRE(::fcntl(hog.get(), F_SETFL, O_NONBLOCK) == 0);
  std::size_t sent = 0;
  int unread = 0;  // bytes of responses waiting in our receive buffer: grows while the server writes
  const auto started = Clock::now();
  auto last_server_write = started;
  auto closed_at = Clock::time_point{};
  HealthProbe probe(server, 100ms);
  while (Clock::now() - started < slack(10000ms)) {
    pollfd p{hog.get(), static_cast<short>((sent < pipeline.size() ? POLLOUT : 0) | POLLRDHUP), 0};
    ::poll(&p, 1, 20);
    if ((p.revents & (POLLERR | POLLHUP | POLLRDHUP)) != 0) {
      closed_at = Clock::now();
      break;
    }
    if ((p.revents & POLLOUT) != 0) {
      const auto n = ::send(hog.get(), pipeline.data() + sent, pipeline.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        closed_at = Clock::now();
        break;
      }
    }
    int now_unread = 0;
    if (::ioctl(hog.get(), FIONREAD, &now_unread) == 0 && now_unread != unread) {
      unread = now_unread;
      last_server_write = Clock::now();
    }
    peak_kib = std::max(peak_kib, pulse::test::resident_kib());
  }
  probe.stop();
  REQUIRE(closed_at != Clock::time_point{});
  const double silent_for = ms(closed_at - last_server_write);
  report(
      fmt::format("pipeline of {} requests, never read: {} bytes sent, {} bytes of responses unread, resident "
                  "growth {} KiB at peak (bound {} KiB), closed {:.0f} ms after the server's last write",
                  kRequests, sent, unread, peak_kib - before_kib, kBoundKib + kMemorySlackKib, silent_for));
  CHECK(peak_kib - before_kib < kBoundKib + kMemorySlackKib);
  // The write timeout, counted from the last write that made progress. Seen from here the
  // silence looks shorter than the server's: this loop notices bytes only between its own sends
  // and polls, and the kernel goes on moving bytes the server queued into our receive buffer
  // after the server's last write. Under a sanitizer each turn of this loop is slow as well
  // (reading our own resident memory walks a huge shadow mapping): ASan runs saw the close
  // 691-699 ms and TSan runs 476 ms after the last change seen, with a 1 s timeout. So the
  // lower bound only says the close was not at once; the timeout's own precision is
  // connection_test's (a socketpair, where the test sees the server's writes as they happen).
  const Millis at_least = kSanitized ? kWriteTimeout / 4 : kWriteTimeout / 2;
  CHECK(silent_for >= static_cast<double>(at_least.count()));
  CHECK(silent_for <= static_cast<double>((kWriteTimeout + slack(500ms)).count()));
  // Held back: the server stopped parsing under back-pressure, so most requests were never
  // answered (the kernel's socket buffers took the rest of the bytes sent).
  const auto answered = server.server().stats().requests_total() - requests_before - probe.latencies().size() -
                        static_cast<std::uint64_t>(probe.failures());
  report(fmt::format("pipeline: {} of {} requests answered before the close", answered, kRequests));
  CHECK(answered < static_cast<std::uint64_t>(kRequests) / 2);
  // The hog's worker answers some 30,000 requests in a few pumps before its queue fills: a
  // neighbour on that worker waits about 20 ms in a release build, seconds under TSan.
  check_probe(probe, "a pipeline never read", kSanitized ? slack(1000ms) : 200ms, 2);
  CHECK(wait_for_open_connections(server, 0, slack(1000ms)));
}

TEST_CASE("resets mid-response and closes with output queued: no SIGPIPE, no leak, the server keeps serving",
          "[integration][hostile]") {
  const int rounds = scaled(200);
  const int parallel = scaled(50);
  constexpr std::size_t kBigBytes = 2 * 1024 * 1024;
  auto config = TestServer::default_config();
  config.limits.write_timeout = 2s;
  TestServer server(config);
  std::string big(kBigBytes, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  server.docroot().write("big.bin", big);

  // What keeps a write to a vanished peer from killing the process: sendfile() cannot take
  // MSG_NOSIGNAL, so the server must ignore SIGPIPE itself.
  struct sigaction disposition {};
  REQUIRE(::sigaction(SIGPIPE, nullptr, &disposition) == 0);
  CHECK(disposition.sa_handler == SIG_IGN);

  const std::string get_big = "GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n";
  {
    auto warm = server.connect();
    REQUIRE(warm.request("GET", "/big.bin").body == big);
  }
  REQUIRE(wait_for_open_connections(server, 0, slack(2000ms)));
  const std::size_t descriptors_before = pulse::test::open_descriptors();

  for (int round = 0; round < rounds; ++round) {
    auto client = pulse::test::connect_local(server.port());
    std::string received;
    switch (round % 4) {
      case 0:  // reset once the response is under way
        REQUIRE(pulse::test::send_all(client.get(), get_big));
        (void)pulse::test::read_some(client.get(), received, slack(2000ms));
        pulse::test::reset_on_close(client.get());
        break;
      case 1:  // reset at once, the request barely sent
        REQUIRE(pulse::test::send_all(client.get(), get_big));
        pulse::test::reset_on_close(client.get());
        break;
      case 2: {  // eight responses queued, never read, then a plain close
        std::string eight;
        for (int i = 0; i < 8; ++i) eight += get_big;
        REQUIRE(pulse::test::send_all(client.get(), eight));
        std::this_thread::sleep_for(2ms);
        break;
      }
      case 3:  // half of the file read, then a reset with more in flight
        REQUIRE(pulse::test::send_all(client.get(), get_big + get_big));
        while (received.size() < kBigBytes / 2 &&
               pulse::test::read_some(client.get(), received, slack(2000ms)) == Input::kData) {
        }
        pulse::test::reset_on_close(client.get());
        break;
    }
    client.reset();
    if (round % 20 == 19) {
      auto check = server.connect();
      REQUIRE(check.request("GET", "/healthz").status == 200);
    }
  }

  // Many at once, all reset together while their responses are being written.
  {
    std::vector<UniqueFd> downloads;
    for (int i = 0; i < parallel; ++i) {
      downloads.push_back(pulse::test::connect_local(server.port()));
      REQUIRE(pulse::test::send_all(downloads.back().get(), get_big));
    }
    for (auto& fd : downloads) {
      std::string received;
      (void)pulse::test::read_some(fd.get(), received, slack(2000ms));
      pulse::test::reset_on_close(fd.get());
    }
  }

  // Still serving, byte for byte; every server-side connection and descriptor is released.
  {
    auto after = server.connect();
    CHECK(after.request("GET", "/big.bin").body == big);
    CHECK(after.request("GET", "/healthz").status == 200);
  }
  CHECK(wait_for_open_connections(server, 0, slack(3000ms)));
  std::size_t descriptors_after = pulse::test::open_descriptors();
  for (int i = 0; i < 100 && descriptors_after > descriptors_before; ++i) {
    std::this_thread::sleep_for(20ms);
    descriptors_after = pulse::test::open_descriptors();
  }
  report(fmt::format("{} resets and queued closes, {} parallel resets: descriptors {} -> {}, {} connections open",
                     rounds, parallel, descriptors_before, descriptors_after,
                     server.server().stats().open_connections()));
  // The file cache may keep a descriptor of big.bin open; nothing more.
  CHECK(descriptors_after <= descriptors_before + 1);
}

// ---- deferred accept -------------------------------------------------------------------------------

TEST_CASE("a connection that sends nothing costs the server nothing until its first byte (--defer-accept)",
          "[integration][hostile]") {
  auto config = TestServer::default_config();
  config.defer_accept = 5s;
  TestServer server(config);
  REQUIRE(server.server().stats().open_connections() == 0);

  auto silent = pulse::test::connect_local(server.port());  // the handshake is done
  std::this_thread::sleep_for(300ms);
  CHECK(server.server().stats().open_connections() == 0);  // still held by the kernel
  REQUIRE(healthz_over(silent.get()));                     // the request hands it over
  CHECK(server.server().stats().open_connections() == 1);

  auto undeferred_config = TestServer::default_config();
  undeferred_config.defer_accept = 0s;
  TestServer undeferred(undeferred_config);
  auto idle = pulse::test::connect_local(undeferred.port());
  CHECK(wait_for_open_connections(undeferred, 1, slack(2000ms)));  // accepted at the handshake
}

// ---- one client pipelining without pause -----------------------------------------------------------

TEST_CASE("a client that pipelines without pause gets its share of the worker, not all of it",
          "[integration][hostile]") {
  auto config = TestServer::default_config();
  config.threads = 1;  // the flood and the probe share one event loop
  config.limits.max_requests_per_connection = 0;
  TestServer server(config);

  auto flood = pulse::test::connect_local(server.port());
  const timeval recv_wait{0, 200'000};
  REQUIRE(::setsockopt(flood.get(), SOL_SOCKET, SO_RCVTIMEO, &recv_wait, sizeof recv_wait) == 0);
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> received{0};
  // It reads as fast as it can, so the server's output never backs up: only its own limits on a
  // turn can make room for the others.
  std::thread reader([&] {
    std::vector<char> buffer(1 << 20);
    while (!stop) {
      const auto n = ::recv(flood.get(), buffer.data(), buffer.size(), 0);
      if (n > 0) received += static_cast<std::uint64_t>(n);
      if (n == 0) break;
    }
  });
  std::thread writer([&] {
    while (!stop && pulse::test::send_all(flood.get(), batch)) {
    }
  });

  std::this_thread::sleep_for(300ms);  // the flood is running
  HealthProbe probe(server, 20ms);
  std::this_thread::sleep_for(slack(2000ms));
  probe.stop();
  stop = true;
  ::shutdown(flood.get(), SHUT_RDWR);
  writer.join();
  reader.join();

  const auto latencies = probe.latencies();
  report(fmt::format("beside a pipelining flood ({} MB answered): {} probes, p50 {:.2f} ms, p90 {:.2f} ms, "
                     "max {:.2f} ms",
                     received.load() / 1'000'000, latencies.size(), percentile(latencies, 0.5),
                     percentile(latencies, 0.9), latencies.empty() ? -1.0 : latencies.back()));
  CHECK(received.load() > 10'000'000);  // the flood was served, not refused
  CHECK(probe.failures() == 0);
  REQUIRE(latencies.size() >= 20);
  // A turn of the flood is at most 256 requests: a probe waits well under a millisecond here
  // (p50 0.2 ms). Turns of 16 full reads instead made it about 8 ms, and turns that re-posted
  // themselves multiplied to about 300 ms.
  CHECK(percentile(latencies, 0.5) < static_cast<double>(slack(4ms).count()));
  CHECK(percentile(latencies, 0.9) < static_cast<double>(slack(15ms).count()));
}

TEST_CASE("large downloads share the worker: a small request beside them is answered promptly",
          "[integration][hostile]") {
  constexpr std::size_t kFileSize = 32u << 20;
  constexpr int kDownloaders = 3;
  auto config = TestServer::default_config();
  config.threads = 1;  // the downloads and the probe share one event loop
  config.limits.max_requests_per_connection = 0;
  TestServer server(config);
  // Above the in-memory cache's limit: sent with sendfile from the open file.
  server.docroot().write("big.bin", std::string(kFileSize, 'x'));
  const std::string request = "GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n";

  // Each downloader fetches the file again and again on one keep-alive connection, reading as
  // fast as it can: the server's writes never block, so only its share per turn makes room.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bytes{0};
  std::array<std::atomic<int>, kDownloaders> complete{};  // downloads finished, per connection
  std::atomic<int> broken{0};
  std::vector<UniqueFd> connections;
  for (int d = 0; d < kDownloaders; ++d) {
    connections.push_back(pulse::test::connect_local(server.port()));
    const timeval recv_wait{0, 200'000};
    REQUIRE(::setsockopt(connections.back().get(), SOL_SOCKET, SO_RCVTIMEO, &recv_wait, sizeof recv_wait) == 0);
  }
  std::vector<std::thread> downloaders;
  for (std::size_t d = 0; d < connections.size(); ++d) {
    downloaders.emplace_back([&, d] {
      const auto& fd = connections[d];
      std::vector<char> buffer(1 << 20);
      const std::size_t head_size = std::string_view("HTTP/1.1 200 OK\r\n").size();
      while (!stop) {
        if (!pulse::test::send_all(fd.get(), request)) break;
        // The head, then exactly Content-Length bytes.
        std::string head;
        std::size_t body_left = 0;
        bool in_head = true;
        while (!stop) {
          const auto n = ::recv(fd.get(), buffer.data(), in_head ? 1 : std::min(buffer.size(), body_left), 0);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
          if (n <= 0) {
            ++broken;
            return;
          }
          bytes += static_cast<std::uint64_t>(n);
          if (in_head) {
            head.push_back(buffer[0]);
            if (head.size() >= head_size && head.ends_with("\r\n\r\n")) {
              if (!head.starts_with("HTTP/1.1 200 ") ||
                  head.find("Content-Length: " + std::to_string(kFileSize) + "\r\n") == std::string::npos) {
                ++broken;
                return;
              }
              in_head = false;
              body_left = kFileSize;
            }
            continue;
          }
          body_left -= static_cast<std::size_t>(n);
          if (body_left == 0) {
            ++complete[d];
            break;
          }
        }
      }
    });
  }

  std::this_thread::sleep_for(300ms);  // the downloads are running
  HealthProbe probe(server, 20ms);
  std::this_thread::sleep_for(slack(2000ms));
  probe.stop();
  stop = true;
  for (auto& thread : downloaders) thread.join();

  const auto latencies = probe.latencies();
  int finished_total = 0;
  for (const auto& finished : complete) finished_total += finished.load();
  report(fmt::format("beside {} downloads of a {} MiB file ({} complete, {} MB sent): {} probes, p50 {:.2f} ms, "
                     "p90 {:.2f} ms, max {:.2f} ms",
                     kDownloaders, kFileSize >> 20, finished_total, bytes.load() / 1'000'000, latencies.size(),
                     percentile(latencies, 0.5), percentile(latencies, 0.9),
                     latencies.empty() ? -1.0 : latencies.back()));
  CHECK(broken.load() == 0);
  for (const auto& finished : complete) CHECK(finished.load() >= 1);  // every download served, none starved
  CHECK(probe.failures() == 0);
  REQUIRE(latencies.size() >= 20);
  // A download sends at most 256 KiB per loop turn, then lets the loop's other events run: a
  // probe waits about 0.3 ms here. Sending each download until its socket is full made it
  // 24 to 32 ms (p50).
  CHECK(percentile(latencies, 0.5) < static_cast<double>(slack(8ms).count()));
  CHECK(percentile(latencies, 0.9) < static_cast<double>(slack(20ms).count()));
}
