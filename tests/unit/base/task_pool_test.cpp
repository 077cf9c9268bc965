// TaskPool: tasks run on the pool's own named threads, in order, within a bound; stop() drops
// what waits and joins; a throwing task leaves its thread working. Runs under TSan.
#include "pulse/base/task_pool.hpp"

#include <catch2/catch.hpp>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using pulse::base::TaskPool;

namespace {

// Bounds every wait, so that a broken pool fails the test instead of hanging it.
constexpr auto kWait = 5s;

// Counts its own destruction: shows that a dropped task released what it captured.
class Sentinel {
 public:
  explicit Sentinel(std::atomic<int>& destroyed) : destroyed_(destroyed) {}
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;
  ~Sentinel() { destroyed_.fetch_add(1); }

 private:
  std::atomic<int>& destroyed_;
};

// Occupies the pool's only thread until released, so that later tasks stay queued.
struct Blocker {
  std::latch started{1};
  std::latch release{1};
  std::atomic<bool> finished{false};

  TaskPool::Task task() {
    return [this] {
      started.count_down();
      release.wait();
      finished = true;
    };
  }
};

}  // namespace

TEST_CASE("tasks run on the pool's named threads, not the caller's", "[base][task_pool]") {
  TaskPool pool(2, 8, "pulse-store-long-name");
  std::promise<std::pair<std::thread::id, std::string>> ran;
  auto result = ran.get_future();
  REQUIRE(pool.try_submit([&ran] {
    char name[16] = {};
    ::pthread_getname_np(::pthread_self(), name, sizeof name);
    ran.set_value({std::this_thread::get_id(), name});
  }));
  REQUIRE(result.wait_for(kWait) == std::future_status::ready);
  const auto [id, name] = result.get();
  CHECK(id != std::this_thread::get_id());
  CHECK(name == "pulse-store-lon");  // the 15 characters Linux keeps
  CHECK(pool.threads() == 2);
  CHECK(pool.capacity() == 8);
}

TEST_CASE("one thread runs its tasks in submission order", "[base][task_pool]") {
  constexpr int kTasks = 200;
  TaskPool pool(1, kTasks, "pulse-fifo");
  std::vector<int> order;  // touched only by the pool's thread until `done` is reached
  std::latch done(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    REQUIRE(pool.try_submit([&order, &done, i] {
      order.push_back(i);
      done.count_down();
    }));
  }
  done.wait();
  REQUIRE(order.size() == kTasks);
  for (int i = 0; i < kTasks; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("a full queue refuses at once, and takes tasks again once it drains", "[base][task_pool]") {
  TaskPool pool(1, 2, "pulse-bounded");
  Blocker blocker;
  REQUIRE(pool.try_submit(blocker.task()));
  blocker.started.wait();  // running, so no longer queued
  std::atomic<int> ran{0};
  CHECK(pool.try_submit([&ran] { ++ran; }));
  CHECK(pool.try_submit([&ran] { ++ran; }));
  CHECK(pool.size() == 2);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(pool.try_submit([&ran] { ran += 100; }));  // full: refused, not run, not waited for
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(pool.size() == 2);

  blocker.release.count_down();
  std::latch after(1);
  const auto until = std::chrono::steady_clock::now() + kWait;
  // The queue drains; a slot frees as soon as the first queued task starts.
  while (!pool.try_submit([&after] { after.count_down(); }) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  after.wait();
  CHECK(ran == 2);
  CHECK(pool.size() == 0);
}

TEST_CASE("stop() drops queued tasks unrun, lets the running one finish and joins", "[base][task_pool]") {
  auto pool = std::make_unique<TaskPool>(1, 8, "pulse-stop");
  Blocker blocker;
  REQUIRE(pool->try_submit(blocker.task()));
  blocker.started.wait();
  std::atomic<int> ran{0};
  std::atomic<int> destroyed{0};
  for (int i = 0; i < 3; ++i) {
    auto sentinel = std::make_shared<Sentinel>(destroyed);
    REQUIRE(pool->try_submit([&ran, sentinel] { ++ran; }));
  }
  CHECK(pool->size() == 3);

  auto stopped = std::async(std::launch::async, [&pool] { pool->stop(); });
  // stop() refuses and drops at once, then waits for the running task before it can join.
  const auto until = std::chrono::steady_clock::now() + kWait;
  while (destroyed < 3 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  CHECK(destroyed == 3);
  CHECK(pool->size() == 0);
  CHECK_FALSE(pool->try_submit([&ran] { ++ran; }));  // stopping: refused, though there is room
  CHECK(stopped.wait_for(50ms) == std::future_status::timeout);
  CHECK_FALSE(blocker.finished);

  blocker.release.count_down();
  REQUIRE(stopped.wait_for(kWait) == std::future_status::ready);
  stopped.get();
  CHECK(blocker.finished);  // the running task was not cut short
  CHECK(ran == 0);          // the queued ones never ran
  pool->stop();             // idempotent
  CHECK_FALSE(pool->try_submit([&ran] { ++ran; }));
  pool.reset();  // and the destructor after it
  CHECK(ran == 0);
}

TEST_CASE("the destructor stops the pool: queued tasks are dropped", "[base][task_pool]") {
  std::atomic<int> ran{0};
  std::atomic<int> destroyed{0};
  Blocker blocker;
  std::thread releaser;
  {
    TaskPool pool(1, 4, "pulse-dtor");
    REQUIRE(pool.try_submit(blocker.task()));
    blocker.started.wait();
    auto sentinel = std::make_shared<Sentinel>(destroyed);
    REQUIRE(pool.try_submit([&ran, sentinel] { ++ran; }));
    sentinel.reset();
    // The blocker is let go once the destructor has dropped the queued task (bounded: a pool
    // that ran it instead would release it only at the give-up, and fail below).
    releaser = std::thread([&blocker, &destroyed] {
      const auto give_up = std::chrono::steady_clock::now() + 10s;
      while (destroyed == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
      blocker.release.count_down();
    });
  }
  releaser.join();
  CHECK(ran == 0);
  CHECK(destroyed == 1);
  CHECK(blocker.finished);
}

TEST_CASE("a task that throws is logged and the thread goes on", "[base][task_pool]") {
  TaskPool pool(1, 8, "pulse-throw");
  REQUIRE(pool.try_submit([] { throw std::runtime_error("store unreachable"); }));
  REQUIRE(pool.try_submit([] { throw 42; }));
  std::promise<std::thread::id> ran;
  auto result = ran.get_future();
  REQUIRE(pool.try_submit([&ran] { ran.set_value(std::this_thread::get_id()); }));
  REQUIRE(result.wait_for(kWait) == std::future_status::ready);
  CHECK(result.get() != std::this_thread::get_id());
}

TEST_CASE("a pool needs a thread and room for a task", "[base][task_pool]") {
  CHECK_THROWS_AS(TaskPool(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(TaskPool(1, 0), std::invalid_argument);
}
