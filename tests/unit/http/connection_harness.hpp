// ConnectionHarness: a real Connection over a socketpair, its EventLoop on a thread of its own,
// and the test thread as the client. Every wait is bounded by one budget per test, so a hang
// fails the test instead of hanging it. The harness is used from the test thread only; the
// connection lives on the loop thread and is reached through on_loop().
#pragma once

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pulse/http/connection.hpp"
#include "pulse/http/deferred_response.hpp"
#include "pulse/http/handler.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/http/router.hpp"
#include "pulse/net/event_loop.hpp"

namespace pulse::http::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The most any one test may take, end to end.
constexpr auto kTestBudget = 5s;
constexpr std::size_t kBigBodyBytes = 256 * 1024;

// "/echo/..." answers its target; "/received-at" the request's received_at; "/big/N" a large
// body starting with "N\n"; "/stream" opens an event stream the test writes to; "/throw"
// fails. "/deferred" answers later: the test takes the DeferredResponse and completes it;
// "/deferred-now" completes its own before returning it; "/deferred-abandoned" keeps no
// reference to it (so the connection's was the last).
class TestHandler final : public Handler {
 public:
  Response handle(const Request& request) override {
    if (request.path.starts_with("/big/")) {
      std::string body = request.path.substr(5) + "\n";
      body.resize(kBigBodyBytes, static_cast<char>('a' + body.size() % 26));
      return Response::text(200, std::move(body));
    }
    if (request.path == "/stream") {
      Response response;
      response.headers.push_back({"Content-Type", "text/event-stream"});
      response.stream = std::make_shared<ResponseStream>();
      const std::lock_guard lock(mutex_);
      stream_ = response.stream;
      return response;
    }
    if (request.path == "/throw") throw std::runtime_error("boom");
    if (request.path == "/received-at") {
      // The request's loop-clock stamp, in nanoseconds of the monotonic clock.
      return Response::text(200, std::to_string(request.received_at.time_since_epoch().count()));
    }
    if (request.path.starts_with("/deferred")) {
      Response response;
      response.deferred = std::make_shared<DeferredResponse>();
      if (request.path == "/deferred-now") {
        response.deferred->complete(Response::text(200, "now"));
      } else if (request.path == "/deferred") {
        const std::lock_guard lock(mutex_);
        deferred_.push_back(response.deferred);
      }
      return response;
    }
    return Response::text(200, request.target);
  }

  std::shared_ptr<ResponseStream> stream() {
    const std::lock_guard lock(mutex_);
    return stream_;
  }
  // The oldest "/deferred" response not yet taken, or nullptr; the handler keeps no reference.
  std::shared_ptr<DeferredResponse> take_deferred() {
    const std::lock_guard lock(mutex_);
    if (deferred_.empty()) return nullptr;
    auto deferred = std::move(deferred_.front());
    deferred_.pop_front();
    return deferred;
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<ResponseStream> stream_;
  std::deque<std::shared_ptr<DeferredResponse>> deferred_;
};

struct ParsedResponse {
  int status = 0;
  std::string head;
  std::string body;

  [[nodiscard]] std::optional<std::string> header(std::string name) const {
    const auto lower = [](std::string text) {
      for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return text;
    };
    const std::size_t at = lower(head).find("\r\n" + lower(name) + ": ");
    if (at == std::string::npos) return std::nullopt;
    const std::size_t value = at + name.size() + 4;
    return head.substr(value, head.find("\r\n", value) - value);
  }
};

class ConnectionHarness {
 public:
  // As a deferred accept hands a connection over: the client has sent `sent_before_start`
  // (maybe nothing) when the connection starts, and the context says input is expected.
  struct ArrivesWithInput {
    std::string sent_before_start;
  };

  explicit ConnectionHarness(Limits limits = {}) : ConnectionHarness(limits, std::nullopt) {}
  explicit ConnectionHarness(ArrivesWithInput arrival) : ConnectionHarness(Limits{}, std::move(arrival)) {}

 private:
  ConnectionHarness(Limits limits, std::optional<ArrivesWithInput> arrival) : deadline_(Clock::now() + kTestBudget) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    client_ = base::UniqueFd(fds[1]);
    if (arrival) {
      context_.input_at_accept = true;
      send(arrival->sent_before_start);
    }
    router_.add_prefix("/echo/", handler_);
    router_.add_prefix("/big/", handler_);
    router_.add_exact("/stream", handler_);
    router_.add_exact("/throw", handler_);
    router_.add_exact("/received-at", handler_);
    router_.add_prefix("/deferred", handler_);
    context_.loop = loop_;
    context_.router = &router_;
    context_.stats = &stats_;
    context_.limits = limits;
    context_.on_access = [this](const AccessRecord& record) {
      const std::lock_guard lock(mutex_);
      statuses_.push_back(record.status);
    };
    context_.on_closed = [this](std::uint64_t) { closed_ = true; };
    stats_.on_connection_opened();
    connection_ = std::make_shared<Connection>(context_, base::UniqueFd(fds[0]), "127.0.0.1", 7);
    loop_->post([connection = connection_] { connection->start(); });
    thread_ = std::thread([loop = loop_] { loop->run(); });
  }

 public:
  ConnectionHarness(const ConnectionHarness&) = delete;
  ConnectionHarness& operator=(const ConnectionHarness&) = delete;
  ~ConnectionHarness() {
    loop_->quit();
    thread_.join();
  }

  void send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(client_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EAGAIN) {
        pollfd pfd{client_.get(), POLLOUT, 0};
        if (::poll(&pfd, 1, static_cast<int>(remaining().count())) == 0) FAIL("the server stopped reading");
      } else {
        FAIL("send failed: " << std::strerror(errno));
      }
    }
  }
  void shutdown_write() { ::shutdown(client_.get(), SHUT_WR); }
  // Closes the client's socket. With bytes it has not read, the server sees a reset.
  void close_client() { client_.reset(); }
  // True when the server's bytes are waiting, without reading them.
  bool readable_within(std::chrono::milliseconds wait) {
    pollfd pfd{client_.get(), POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(std::min(wait, remaining()).count())) == 1;
  }

  std::string read_exactly(std::size_t n) {
    while (buffer_.size() < n) {
      if (!fill(remaining())) FAIL("EOF after " << buffer_.size() << " of " << n << " bytes");
    }
    return take(n);
  }
  std::string read_until(std::string_view terminator) {
    std::size_t at;
    while ((at = buffer_.find(terminator)) == std::string::npos) {
      if (!fill(remaining())) FAIL("EOF before \"" << terminator << "\"; got: " << buffer_);
    }
    return take(at + terminator.size());
  }
  // One response framed by Content-Length (or none for HEAD and bodiless statuses).
  ParsedResponse read_response(bool head_request = false) {
    ParsedResponse response;
    response.head = read_until("\r\n\r\n");
    REQUIRE(response.head.starts_with("HTTP/1."));
    response.status = std::stoi(response.head.substr(9, 3));
    if (!head_request) response.body = read_exactly(std::stoul(response.header("Content-Length").value_or("0")));
    return response;
  }
  // Everything up to the server's EOF; fails if the server does not close within the budget.
  std::string read_to_eof() {
    while (fill(remaining())) {
    }
    return take(buffer_.size());
  }
  // True when the server closes within `wait`; what it sent meanwhile stays readable.
  bool closes_within(std::chrono::milliseconds wait) {
    const auto until = std::min(deadline_, Clock::now() + wait);
    while (Clock::now() < until) {
      if (!fill(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()), false)) return true;
    }
    return false;
  }

  // Runs `task` on the loop thread and returns its result.
  template <typename Task>
  auto on_loop(Task task) {
    using Result = decltype(task(*connection_));
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    loop_->post([promise, task, connection = connection_] { promise->set_value(task(*connection)); });
    if (future.wait_for(remaining()) != std::future_status::ready) FAIL("the loop did not run the task");
    return future.get();
  }
  // What the worker does at shutdown: the flag every later response reads, then the connection's turn.
  void begin_shutdown() {
    on_loop([this](Connection& connection) {
      context_.shutting_down = true;
      connection.begin_shutdown();
      return 0;
    });
  }
  ConnectionState state() {
    return on_loop([](Connection& connection) { return connection.state(); });
  }
  // Polls until the server has closed the connection (on_closed ran).
  bool server_closed_within(std::chrono::milliseconds wait) {
    const auto until = std::min(deadline_, Clock::now() + wait);
    while (!closed_ && Clock::now() < until) std::this_thread::sleep_for(5ms);
    return closed_;
  }

  [[nodiscard]] std::vector<int> statuses() {
    const std::lock_guard lock(mutex_);
    return statuses_;
  }
  [[nodiscard]] TestHandler& handler() { return *handler_; }
  // Waits for the handler to have deferred a response, and takes it.
  std::shared_ptr<DeferredResponse> wait_for_deferred() {
    while (Clock::now() < deadline_) {
      if (auto deferred = handler_->take_deferred()) return deferred;
      std::this_thread::sleep_for(1ms);
    }
    FAIL("no request was deferred in time");
    return nullptr;
  }
  // Polls the connection's state until it is `state`.
  bool reaches_state(ConnectionState state, std::chrono::milliseconds wait) {
    const auto until = std::min(deadline_, Clock::now() + wait);
    while (this->state() != state) {
      if (Clock::now() >= until) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

 private:
  [[nodiscard]] std::chrono::milliseconds remaining() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    return std::max(left, 0ms);
  }
  // Appends what arrives within `wait`; false on EOF. Fails when the budget runs out, unless
  // `must_progress` is false (then it simply returns true after `wait`).
  bool fill(std::chrono::milliseconds wait, bool must_progress = true) {
    char chunk[64 * 1024];
    for (;;) {
      const auto n = ::recv(client_.get(), chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno != EAGAIN) return false;  // reset counts as closed
      pollfd pfd{client_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(wait.count())) == 0) {
        if (must_progress) FAIL("nothing from the server in time; have: " << buffer_);
        return true;
      }
    }
  }
  std::string take(std::size_t n) {
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  const Clock::time_point deadline_;
  std::shared_ptr<net::EventLoop> loop_ = std::make_shared<net::EventLoop>();
  std::shared_ptr<TestHandler> handler_ = std::make_shared<TestHandler>();
  Router router_;
  ServerStats stats_;
  ConnectionContext context_;
  std::shared_ptr<Connection> connection_;
  base::UniqueFd client_;
  std::string buffer_;
  std::atomic<bool> closed_{false};
  std::mutex mutex_;
  std::vector<int> statuses_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace pulse::http::testing
