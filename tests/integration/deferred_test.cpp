// Deferred responses through a real Worker over TCP: a handler that answers from another thread
// does not hold up the worker's loop, its answer keeps its place in a pipeline, the access log
// and stats see the final status, and a task pool that drops its queue answers 503.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pulse/app/access_log.hpp"
#include "support/http_client.hpp"
#include "pulse/app/worker.hpp"
#include "pulse/base/task_pool.hpp"
#include "pulse/handlers/static/static_files.hpp"
#include "pulse/http/deferred_response.hpp"
#include "pulse/http/router.hpp"
#include "pulse/net/socket.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using pulse::test::HttpClient;
using pulse::http::DeferredResponse;
using pulse::http::Request;
using pulse::http::Response;

namespace {

// "/slow": answered 201 from a thread of its own once release() is called (or after 5 s, so
// that a failing test cannot hang).
class SlowHandler final : public pulse::http::Handler {
 public:
  ~SlowHandler() override {
    const std::lock_guard lock(mutex_);
    for (auto& thread : threads_) thread.join();
  }

  Response handle(const Request& request) override {
    Response response;
    response.deferred = std::make_shared<DeferredResponse>();
    asked_ = true;
    const std::lock_guard lock(mutex_);
    threads_.emplace_back([this, deferred = response.deferred, target = request.target] {
      const auto give_up = std::chrono::steady_clock::now() + 5s;
      while (!released_ && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
      answered_ = true;
      deferred->complete(Response::text(201, "slow " + target + "\n"));
    });
    return response;
  }

  [[nodiscard]] bool asked() const { return asked_; }
  [[nodiscard]] bool answered() const { return answered_; }
  void release() { released_ = true; }

 private:
  std::atomic<bool> asked_{false};
  std::atomic<bool> answered_{false};
  std::atomic<bool> released_{false};
  std::mutex mutex_;
  std::vector<std::thread> threads_;  // guarded by mutex_
};

// "/pooled": the answer is computed on a task pool; a full or stopped pool answers 503 at once.
class PooledHandler final : public pulse::http::Handler {
 public:
  explicit PooledHandler(pulse::base::TaskPool& pool) : pool_(pool) {}

  Response handle(const Request&) override {
    Response response;
    response.deferred = std::make_shared<DeferredResponse>();
    if (!pool_.try_submit([deferred = response.deferred] { deferred->complete(Response::text(200, "pooled\n")); })) {
      response.deferred->complete(Response::error(503));
    }
    return response;
  }

 private:
  pulse::base::TaskPool& pool_;
};

// Holds a pool task until opened; opens itself when the test ends, so that a failed check cannot
// leave the pool's destructor waiting for the task.
class Gate {
 public:
  ~Gate() { open(); }
  void open() {
    {
      const std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;  // guarded by mutex_
};

// One worker (so that every connection shares its loop), accepting on its own listening socket
// as in the server.
class WorkerFixture {
 public:
  explicit WorkerFixture(pulse::base::TaskPool* pool = nullptr)
      : listener_(pulse::net::listen_tcp(pulse::net::resolve_numeric("127.0.0.1", 0), 16)),
        access_log_(pulse::app::AccessLog::open((logs_.path() / "access.log").string())) {
    docroot_.write("index.html", "static\n");
    router_.add_exact("/slow", slow_);
    if (pool != nullptr) router_.add_exact("/pooled", std::make_shared<PooledHandler>(*pool));
    router_.add_prefix("/", std::make_shared<pulse::handlers::static_files::StaticFiles>(
                                pulse::handlers::static_files::StaticFilesOptions{.root = docroot_.path()}));
    worker_ = std::make_unique<pulse::app::Worker>(router_, pulse::http::Limits{}, stats_, access_log_.get());
    port_ = pulse::net::local_address(listener_.get()).port();
    worker_->listen(std::move(listener_), kMaxConnections, false);
    worker_->start();
  }
  WorkerFixture(const WorkerFixture&) = delete;
  WorkerFixture& operator=(const WorkerFixture&) = delete;
  ~WorkerFixture() { stop(); }

  HttpClient connect() { return HttpClient("127.0.0.1", port_, 5s); }

  // Shuts the worker down, then the access log; returns what the log holds.
  std::string stop() {
    if (worker_) {
      worker_->begin_shutdown(2s);
      worker_->join();
      worker_.reset();
      access_log_.reset();
    }
    std::ifstream in(logs_.path() / "access.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  [[nodiscard]] SlowHandler& slow() { return *slow_; }
  [[nodiscard]] const pulse::http::ServerStats& stats() const { return stats_; }

 private:
  pulse::test::TempDir docroot_;
  pulse::test::TempDir logs_;
  static constexpr std::size_t kMaxConnections = 64;
  pulse::base::UniqueFd listener_;
  std::uint16_t port_ = 0;
  std::shared_ptr<SlowHandler> slow_ = std::make_shared<SlowHandler>();
  pulse::http::Router router_;
  pulse::http::ServerStats stats_;
  std::unique_ptr<pulse::app::AccessLog> access_log_;
  std::unique_ptr<pulse::app::Worker> worker_;
};

}  // namespace

TEST_CASE("a response answered from another thread does not hold up other connections on the worker",
          "[integration][deferred]") {
  WorkerFixture fixture;
  auto slow = fixture.connect();
  auto fast = fixture.connect();
  // The slow answer's place in its pipeline is kept: the static file behind it comes after it.
  slow.send_raw("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\n\r\n");

  // The other connection on the same worker is served while the slow answer is outstanding.
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!fixture.slow().asked() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  REQUIRE(fixture.slow().asked());
  for (int i = 0; i < 3; ++i) {
    const auto response = fast.request("GET", "/index.html");
    REQUIRE(response.status == 200);
    CHECK(response.body == "static\n");
  }
  CHECK_FALSE(fixture.slow().answered());
  fixture.slow().release();

  const auto answer = slow.read_response();
  CHECK(answer.status == 201);
  CHECK(answer.body == "slow /slow\n");
  CHECK(answer.keep_alive);
  const auto behind = slow.read_response();
  CHECK(behind.status == 200);
  CHECK(behind.body == "static\n");
  CHECK(slow.request("GET", "/index.html").status == 200);  // the connection is reusable

  CHECK(fixture.stats().requests_with_status(201) == 1);
  const std::string log = fixture.stop();
  CHECK(log.find("\"GET /slow HTTP/1.1\" 201 ") != std::string::npos);
}

TEST_CASE("a task pool that stops with a request queued answers it 503", "[integration][deferred]") {
  Gate release;
  pulse::base::TaskPool pool(1, 4, "pulse-store");
  std::atomic<bool> started{false};
  // Occupy the pool's thread, so that the request's task waits in the queue.
  REQUIRE(pool.try_submit([&] {
    started = true;
    release.wait();
  }));
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!started && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  REQUIRE(started);
  WorkerFixture fixture(&pool);
  auto client = fixture.connect();
  client.send_raw("GET /pooled HTTP/1.1\r\nHost: t\r\n\r\n");
  while (pool.size() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  REQUIRE(pool.size() == 1);

  std::thread stopper([&pool] { pool.stop(); });  // drops the queued task: its DeferredResponse answers 503
  const auto response = client.read_response();
  CHECK(response.status == 503);
  CHECK(response.keep_alive);
  release.open();
  stopper.join();
  // A stopped pool refuses at once, and the handler says so with 503 too.
  CHECK(client.request("GET", "/pooled").status == 503);
  CHECK(fixture.stats().requests_with_status(503) == 2);
}
