// EventLoop: cross-thread tasks run on the loop thread, in order; timers fire; quit() ends run().
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "pulse/net/event_loop.hpp"

using namespace std::chrono_literals;
using pulse::net::EventLoop;

TEST_CASE("tasks posted from other threads run on the loop thread in order", "[event_loop]") {
  EventLoop loop;
  std::vector<int> seen;
  std::atomic<bool> foreign{false};
  std::thread runner([&] { loop.run(); });
  for (int i = 0; i < 100; ++i) {
    loop.post([&, i] {
      if (!loop.is_in_loop_thread()) foreign = true;
      seen.push_back(i);
    });
  }
  loop.post([&] { loop.quit(); });
  runner.join();
  CHECK_FALSE(foreign.load());
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("timers scheduled on the loop fire and can stop it", "[event_loop]") {
  EventLoop loop;
  const auto start = std::chrono::steady_clock::now();
  bool fired = false;
  loop.post([&] {
    loop.timers().schedule(loop.now() + 30ms, [&] {
      fired = true;
      loop.quit();
    });
  });
  std::thread runner([&] { loop.run(); });
  runner.join();
  CHECK(fired);
  CHECK(std::chrono::steady_clock::now() - start >= 30ms);
}

TEST_CASE("quit from another thread wakes a loop blocked in epoll_wait", "[event_loop]") {
  EventLoop loop;
  std::thread runner([&] { loop.run(); });
  std::this_thread::sleep_for(20ms);
  loop.quit();
  runner.join();  // would hang without the eventfd wake-up
  SUCCEED("run() returned");
}
