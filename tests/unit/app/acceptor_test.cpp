// Acceptor: a connection's clock starts when it is accepted, not when the loop iteration that
// accepts it began (deadlines counted from a stale time would fire early).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "pulse/app/acceptor.hpp"
#include "pulse/base/monotonic_clock.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/net/event_loop.hpp"
#include "pulse/net/socket.hpp"
#include "support/raw_socket.hpp"

using namespace std::chrono_literals;
using pulse::base::MonotonicClock;

namespace {

// Readable once: then holds the loop thread until `hold` has passed, as a long burst of work
// would, saying when it began.
class SlowHandler final : public pulse::net::IoHandler {
 public:
  SlowHandler(pulse::net::EventLoop& loop, int fd, std::chrono::milliseconds hold)
      : loop_(loop), fd_(fd), hold_(hold) {}
  void handle_events(std::uint32_t) override {
    char byte = 0;
    (void)::read(fd_, &byte, 1);
    loop_.remove(fd_);
    holding = true;
    std::this_thread::sleep_for(hold_);
  }
  std::atomic<bool> holding{false};

 private:
  pulse::net::EventLoop& loop_;
  int fd_;
  std::chrono::milliseconds hold_;
};

// Stops the loop and joins its thread however the test ends, so that a failed REQUIRE cannot
// leave a joinable thread behind.
struct LoopThread {
  pulse::net::EventLoop& loop;
  std::thread thread;
  ~LoopThread() {
    loop.quit();
    if (thread.joinable()) thread.join();
  }
};

}  // namespace

TEST_CASE("a connection accepted late in a long loop iteration is stamped with the time it was accepted",
          "[acceptor]") {
  pulse::net::EventLoop loop;
  pulse::http::ServerStats stats;
  auto listener = pulse::net::listen_tcp(pulse::net::resolve_numeric("127.0.0.1", 0), 64);
  const auto port = pulse::net::local_address(listener.get()).port();

  // The loop's time, as the acceptor's callback sees it, per connection in accept order.
  std::vector<MonotonicClock::time_point> stamped;
  std::vector<pulse::base::UniqueFd> accepted;
  pulse::app::Acceptor acceptor(loop, std::move(listener), 100, stats,
                                [&](pulse::base::UniqueFd fd, const pulse::net::SocketAddress&) {
                                  stamped.push_back(loop.now());
                                  accepted.push_back(std::move(fd));
                                  if (accepted.size() == 2) loop.quit();
                                });

  // Both ready before they are registered, in this order: a handler that then holds the loop
  // for 300 ms, and a first connection. epoll reports ready descriptors in the order they
  // became ready to it, so one iteration runs the slow handler, then the acceptor; while the
  // slow one runs, a second connection arrives, and the acceptor takes both in the same call.
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
  pulse::base::UniqueFd read_end(pipe_fds[0]);
  pulse::base::UniqueFd write_end(pipe_fds[1]);
  SlowHandler slow(loop, read_end.get(), 300ms);
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  const auto first_client = pulse::test::connect_local(port);
  loop.post([&] {
    loop.add(read_end.get(), EPOLLIN, &slow);
    acceptor.start();
    loop.timers().schedule(loop.now() + 10s, [&] { loop.quit(); });  // a failing run still ends
  });
  LoopThread runner{loop, std::thread([&] { loop.run(); })};
  const auto give_up = MonotonicClock::now() + 5s;
  while (!slow.holding && MonotonicClock::now() < give_up) std::this_thread::sleep_for(1ms);
  REQUIRE(slow.holding);
  std::this_thread::sleep_for(50ms);  // well inside the handler's 300 ms
  const auto second_connected = MonotonicClock::now();
  const auto second_client = pulse::test::connect_local(port);
  runner.thread.join();

  REQUIRE(stamped.size() == 2);
  INFO("second connection stamped "
       << std::chrono::duration_cast<std::chrono::milliseconds>(second_connected - stamped[1]).count()
       << " ms before it connected");
  CHECK(stamped[1] >= second_connected);
  CHECK(stats.open_connections() == 2);
}
