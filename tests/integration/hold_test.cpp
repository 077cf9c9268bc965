// GET /heartbeat/{id}/hold over real sockets: the held client is up, the stream says `held` and
// then keep-alive comments, a dropped connection is late at once (in the list and on the event
// stream) and down after the hold grace, status=fail beats meanwhile make it failing, a second
// hold of the same id keeps it up when the first drops, the limits refuse, shutdown with a held
// connection completes, with the Redis store another replica sees the hold and the drop, and a
// client that reconnects to another replica is not released by the old one (holder tokens).
// The store runs on a ManualClock (the hold grace passes without sleeping); keep-alive periods
// are 50 ms. Waits are bounded and poll for a condition.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "pulse/app/worker.hpp"
#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/http/router.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/net/socket.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_registry.hpp"
#include "pulse/presence/redis_store.hpp"
#include "support/flaky_store.hpp"
#include "support/raw_socket.hpp"
#include "support/sse.hpp"
#include "support/store_factories.hpp"
#include "support/test_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::test::HttpClient;
using pulse::handlers::heartbeat::HeartbeatOptions;
using pulse::handlers::heartbeat::HeartbeatService;
using pulse::presence::ClientState;
using pulse::presence::kHoldGrace;
using pulse::presence::kHoldRefresh;
using pulse::presence::ManualClock;

namespace {

constexpr auto kKeepAlive = 50ms;
// What HoldServer::stop() gives its worker to finish: long, so that a test can tell "at once" from
// "the grace ran out" however slow the machine.
constexpr auto kShutdownGrace = 10s;

HeartbeatOptions fast_options() {
  HeartbeatOptions options;
  options.holds.keep_alive = kKeepAlive;
  return options;
}

// Polls `done` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// "/thread": records the thread handlers run on (the worker's loop thread).
class ThreadProbe final : public pulse::http::Handler {
 public:
  pulse::http::Response handle(const pulse::http::Request&) override {
    const std::lock_guard lock(mutex_);
    thread_ = std::this_thread::get_id();
    return pulse::http::Response::text(200, "ok\n");
  }
  [[nodiscard]] std::thread::id thread() const {
    const std::lock_guard lock(mutex_);
    return thread_;
  }

 private:
  mutable std::mutex mutex_;
  std::thread::id thread_;  // guarded by mutex_
};

// One worker serving a HeartbeatService on 127.0.0.1, on the service's own store (the embedded
// registry on a ManualClock, or a store the test made).
class HoldServer {
 public:
  explicit HoldServer(HeartbeatOptions options = fast_options(),
                      std::shared_ptr<pulse::presence::PresenceStore> store = nullptr)
      : clock_(std::make_shared<ManualClock>()) {
    service_ = store ? std::make_unique<HeartbeatService>(options, std::move(store))
                     : std::make_unique<HeartbeatService>(options, clock_);
    router_.add_exact("/heartbeat", service_->api_handler());
    router_.add_prefix("/heartbeat/", service_->api_handler());
    router_.add_exact("/thread", probe_);
    auto listener = pulse::net::listen_tcp(pulse::net::resolve_numeric("127.0.0.1", 0), 64);
    port_ = pulse::net::local_address(listener.get()).port();
    worker_ = std::make_unique<pulse::app::Worker>(router_, pulse::http::Limits{}, stats_, nullptr);
    worker_->listen(std::move(listener), 1000, false);
    service_->start();
    worker_->start();
  }
  HoldServer(const HoldServer&) = delete;
  HoldServer& operator=(const HoldServer&) = delete;
  ~HoldServer() { stop(); }

  // As the server does: the service first (it ends the held streams), then the worker.
  void stop() {
    if (!worker_) return;
    service_->stop();
    worker_->begin_shutdown(kShutdownGrace);
    worker_->join();
    worker_.reset();
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] HttpClient connect() const { return HttpClient("127.0.0.1", port_, 5s); }
  [[nodiscard]] HeartbeatService& service() { return *service_; }
  [[nodiscard]] ManualClock& clock() { return *clock_; }
  // The worker's loop thread, learnt through a request.
  [[nodiscard]] std::thread::id loop_thread() {
    auto client = connect();
    REQUIRE(client.request("GET", "/thread").status == 200);
    return probe_->thread();
  }
  [[nodiscard]] std::optional<pulse::presence::ClientView> find(const std::string& id) const {
    return service_->store()->find(id);
  }
  [[nodiscard]] std::optional<ClientState> state(const std::string& id) const {
    const auto client = find(id);
    if (!client) return std::nullopt;
    return client->state;
  }

 private:
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<ThreadProbe> probe_ = std::make_shared<ThreadProbe>();
  std::unique_ptr<HeartbeatService> service_;
  pulse::http::Router router_;
  pulse::http::ServerStats stats_;
  std::unique_ptr<pulse::app::Worker> worker_;
  std::uint16_t port_ = 0;
};

// One streaming GET (a hold, or /heartbeat/events): decodes the chunked body as it arrives.
class StreamClient {
 public:
  StreamClient(std::uint16_t port, const std::string& target) : client_(std::in_place, "127.0.0.1", port, 5s) {
    client_->send_raw("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
  }

  template <typename Done>
  bool wait_for(Done done, std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (done(pulse::test::parse_sse(body_))) return true;
      if (ended_ || std::chrono::steady_clock::now() >= deadline) return false;
      raw_ += client_->read_available(20ms);
      decode();
    }
  }
  bool wait_for_event(const std::string& name, std::chrono::milliseconds timeout = 3s) {
    return wait_for([&](const pulse::test::SseStream& s) { return find(s, name).has_value(); }, timeout);
  }
  bool wait_for_comments(std::size_t count, std::chrono::milliseconds timeout = 3s) {
    return wait_for([&](const pulse::test::SseStream& s) { return s.comments.size() >= count; }, timeout);
  }
  bool wait_for_end(std::chrono::milliseconds timeout = 3s) {
    return wait_for([this](const pulse::test::SseStream&) { return ended_; }, timeout);
  }
  // The first event named `name` whose data satisfies `matches`.
  static std::optional<pulse::test::SseEvent> find(const pulse::test::SseStream& stream, const std::string& name,
                                                   const std::function<bool(const json&)>& matches = {}) {
    for (const auto& event : stream.events) {
      if (event.event == name && (!matches || matches(json::parse(event.data)))) return event;
    }
    return std::nullopt;
  }

  [[nodiscard]] pulse::test::SseStream stream() const { return pulse::test::parse_sse(body_); }
  [[nodiscard]] const std::string& head() const { return head_; }
  [[nodiscard]] int status() const { return pulse::test::status_of(head_); }
  // The client goes away (a FIN).
  void close() { client_.reset(); }
  [[nodiscard]] std::uint16_t local_port() const { return pulse::net::local_address(client_->fd()).port(); }

 private:
  void decode() {
    if (head_.empty()) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end + 4);
      raw_.erase(0, end + 4);
    }
    while (!ended_) {
      const auto line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
      if (raw_.size() < line_end + 2 + size + 2) return;
      body_ += raw_.substr(line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
      if (size == 0) ended_ = true;
    }
  }

  std::optional<HttpClient> client_;
  std::string raw_;
  std::string head_;
  std::string body_;
  bool ended_ = false;
};

// The kernel's timer on the server's end of the connection from `client_port` to `server_port`
// (/proc/net/tcp, IPv4): which (0 none, 1 retransmission, 2 keepalive, ...; -1 when not found)
// and when it fires.
struct SocketTimer {
  int kind = -1;
  std::chrono::milliseconds in{0};
};
SocketTimer server_socket_timer(std::uint16_t server_port, std::uint16_t client_port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  const std::string local = fmt::format(":{:04X}", server_port);
  const std::string remote = fmt::format(":{:04X}", client_port);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local_address, remote_address, state, queues, timer;
    fields >> slot >> local_address >> remote_address >> state >> queues >> timer;
    if (!local_address.ends_with(local) || !remote_address.ends_with(remote)) continue;
    // "02:00000D8A": the kind, then clock ticks (USER_HZ) until it fires.
    const auto ticks = std::stoll(timer.substr(3), nullptr, 16);
    return {std::stoi(timer.substr(0, 2)), std::chrono::milliseconds(ticks * 1000 / ::sysconf(_SC_CLK_TCK))};
  }
  return {};
}

// A hold that has been recorded: its `held` event arrived.
std::unique_ptr<StreamClient> hold(const HoldServer& server, const std::string& id, const std::string& query = {}) {
  auto client = std::make_unique<StreamClient>(server.port(), "/heartbeat/" + id + "/hold" + query);
  REQUIRE(client->wait_for_event("held"));
  return client;
}

}  // namespace

TEST_CASE("a held client is up: the stream says held, then keep-alive comments", "[integration][hold]") {
  HoldServer server;
  auto held = hold(server, "edge-1", "?interval=60&msg=on+duty");
  CHECK(held->status() == 200);
  CHECK(held->head().find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(held->head().find("Transfer-Encoding: chunked\r\n") != std::string::npos);

  const auto event = StreamClient::find(held->stream(), "held");
  REQUIRE(event);
  CHECK_FALSE(event->id);  // not a change: no SSE id
  const auto data = json::parse(event->data);
  CHECK(data.contains("server_time"));
  CHECK(data["client"]["id"] == "edge-1");
  CHECK(data["client"]["state"] == "up");
  CHECK(data["client"]["msg"] == "on duty");
  CHECK(data["client"]["interval"] == 60);  // settings given with a hold are kept (sticky)
  CHECK(held->stream().events.size() == 1);

  // Keep-alive comments come every period, and nothing else.
  REQUIRE(held->wait_for_comments(3));
  for (const auto& comment : held->stream().comments) CHECK(comment == " keep-alive");
  CHECK(held->stream().events.size() == 1);

  const auto client = server.find("edge-1");
  REQUIRE(client);
  CHECK(client->held);
  CHECK(client->state == ClientState::kUp);
  CHECK(server.service().holds()->size() == 1);

  // Seen as up through the API too.
  auto api = server.connect();
  const auto show = api.request("GET", "/heartbeat/edge-1");
  REQUIRE(show.status == 200);
  CHECK(json::parse(show.body)["state"] == "up");
}

TEST_CASE("a held connection has TCP keepalive on the server's socket, an event stream has not",
          "[integration][hold]") {
  HeartbeatOptions options = fast_options();
  options.holds.keep_alive = 1h;  // nothing written after the first event: only keepalive arms a timer
  HoldServer server(options);
  auto held = hold(server, "edge-k");
  StreamClient events(server.port(), "/heartbeat/events");
  REQUIRE(events.wait_for_event("snapshot"));
  REQUIRE(eventually([&] { return server_socket_timer(server.port(), held->local_port()).kind == 2; }));
  // The first probe is due 15 s after the last input (the kernel's default is two hours).
  const auto timer = server_socket_timer(server.port(), held->local_port());
  CHECK(timer.in > 10s);
  CHECK(timer.in <= 15s);
  CHECK(server_socket_timer(server.port(), events.local_port()).kind == 0);
}

TEST_CASE("a held client stays up while held, past its interval and the hold refresh", "[integration][hold]") {
  HoldServer server;
  auto held = hold(server, "edge-2", "?interval=5");
  // Each step is shorter than kHoldRefresh; the refreshes between them keep moving the deadline.
  for (int step = 0; step < 4; ++step) {
    server.clock().advance(kHoldRefresh / 2);
    const auto moved_at = server.clock().now();
    REQUIRE(eventually([&] {
      const auto client = server.find("edge-2");
      return client && client->next_due >= moved_at + kHoldRefresh;
    }));
    server.service().sweep();
    CHECK(server.state("edge-2") == ClientState::kUp);
  }
  CHECK(server.find("edge-2")->beats == 1);  // refreshes are not beats
}

TEST_CASE("a dropped hold is late at once, in the store and on the event stream, and down after the grace",
          "[integration][hold]") {
  HoldServer server;
  auto held = hold(server, "edge-3");
  StreamClient events(server.port(), "/heartbeat/events");
  REQUIRE(events.wait_for_event("snapshot"));

  // No clock movement: only the drop can make it late.
  held->close();
  REQUIRE(eventually([&] { return server.state("edge-3") == ClientState::kLate; }));
  CHECK_FALSE(server.find("edge-3")->held);
  CHECK(server.service().holds()->size() == 0);
  CHECK(events.wait_for([](const pulse::test::SseStream& s) {
    return StreamClient::find(s, "change",
                              [](const json& data) {
                                return data["client"]["id"] == "edge-3" && data["previous"] == "up" &&
                                       data["client"]["state"] == "late";
                              })
        .has_value();
  }));

  // Late, not down, until the hold grace has passed.
  server.clock().advance(kHoldGrace - 1s);
  server.service().sweep();
  CHECK(server.state("edge-3") == ClientState::kLate);
  server.clock().advance(1s);
  server.service().sweep();
  CHECK(server.state("edge-3") == ClientState::kDown);
  CHECK(events.wait_for([](const pulse::test::SseStream& s) {
    return StreamClient::find(
               s, "change",
               [](const json& data) { return data["client"]["id"] == "edge-3" && data["client"]["state"] == "down"; })
        .has_value();
  }));
}

TEST_CASE("status=fail beats on another request while held make it failing", "[integration][hold]") {
  HoldServer server;
  auto held = hold(server, "edge-4");
  auto api = server.connect();
  CHECK(api.request("POST", "/heartbeat/edge-4?status=fail&msg=disk+full").status == 200);
  CHECK(server.state("edge-4") == ClientState::kFailing);

  // The refreshes keep it failing (alive, unhealthy), past what the beat's interval alone allows.
  server.clock().advance(kHoldRefresh / 2);
  const auto moved_at = server.clock().now();
  REQUIRE(eventually([&] { return server.find("edge-4")->next_due >= moved_at + kHoldRefresh; }));
  server.service().sweep();
  CHECK(server.state("edge-4") == ClientState::kFailing);
  CHECK(server.find("edge-4")->held);

  // A good beat heals it, still held.
  CHECK(api.request("POST", "/heartbeat/edge-4?status=ok").status == 200);
  CHECK(server.state("edge-4") == ClientState::kUp);
  CHECK(server.find("edge-4")->held);
}

TEST_CASE("two holds of one id: the first dropping keeps it up, the last makes it late", "[integration][hold]") {
  HoldServer server;
  auto first = hold(server, "edge-5");
  auto second = hold(server, "edge-5");  // a client reconnecting before its old socket is known dead
  CHECK(server.service().holds()->size() == 2);

  first->close();
  REQUIRE(eventually([&] { return server.service().holds()->size() == 1; }));
  // The drop was seen; give a (wrong) release every chance to land before looking.
  std::this_thread::sleep_for(4 * kKeepAlive);
  CHECK(server.state("edge-5") == ClientState::kUp);
  CHECK(server.find("edge-5")->held);
  CHECK(second->wait_for_comments(1));

  second->close();
  REQUIRE(eventually([&] { return server.state("edge-5") == ClientState::kLate; }));
  CHECK_FALSE(server.find("edge-5")->held);
}

TEST_CASE("holds of one id opened and dropped from many threads: released only after the last", "[integration][hold]") {
  constexpr int kThreads = 4;
  constexpr int kRounds = 25;
  auto clock = std::make_shared<ManualClock>();
  pulse::presence::RegistryOptions registry;
  registry.max_beats_per_second = 1'000'000;  // a reconnect storm, not a rate-limit test
  HeartbeatOptions options = fast_options();
  options.holds.max_per_id = 2 * kThreads;
  HoldServer server(options, std::make_shared<pulse::presence::PresenceRegistry>(registry, clock));
  auto anchor = hold(server, "storm");

  std::atomic<int> held_count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        try {
          StreamClient churn(server.port(), "/heartbeat/storm/hold");
          if (churn.wait_for_event("held")) ++held_count;
          // Dropped here, while the other threads' holds of the same id open and drop.
        } catch (const std::exception&) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(held_count == kThreads * kRounds);
  REQUIRE(eventually([&] { return server.service().holds()->size() == 1; }));
  std::this_thread::sleep_for(4 * kKeepAlive);  // any stray release has landed by now
  CHECK(server.state("storm") == ClientState::kUp);
  CHECK(server.find("storm")->held);

  anchor->close();
  REQUIRE(eventually([&] { return server.state("storm") == ClientState::kLate; }));
  CHECK_FALSE(server.find("storm")->held);
  CHECK(server.service().holds()->size() == 0);
}

TEST_CASE("a hold refreshes a client released elsewhere back to held", "[integration][hold]") {
  // What another replica's release of its own old connection of this client does to the store.
  HoldServer server;
  auto held = hold(server, "edge-6");
  pulse::presence::BeatRequest release;
  release.id = "edge-6";
  release.signal = pulse::presence::Signal::kRelease;
  auto store = std::const_pointer_cast<pulse::presence::PresenceStore>(server.service().store());
  REQUIRE(store->beat(release).accepted());
  CHECK(server.state("edge-6") == ClientState::kLate);
  REQUIRE(eventually([&] { return server.state("edge-6") == ClientState::kUp; }));
  CHECK(server.find("edge-6")->held);
}

TEST_CASE("a held client that is signed off has its holds ended", "[integration][hold]") {
  HoldServer server;
  auto held = hold(server, "edge-7");
  auto api = server.connect();
  CHECK(api.request("DELETE", "/heartbeat/edge-7").status == 204);
  CHECK(held->wait_for_end());
  REQUIRE(eventually([&] { return server.service().holds()->size() == 0; }));
  std::this_thread::sleep_for(4 * kKeepAlive);
  CHECK_FALSE(server.find("edge-7"));  // and its drop did not bring it back
}

TEST_CASE("hold requests that are refused", "[integration][hold]") {
  HeartbeatOptions options = fast_options();
  options.holds.max_per_id = 2;
  options.holds.max_per_address = 3;
  options.holds.max_holds = 4;
  HoldServer server(options);
  auto api = server.connect();

  SECTION("bad parameters, a bad id, another method") {
    CHECK(api.request("GET", "/heartbeat/edge/hold?interval=0").status == 400);
    CHECK(api.request("GET", "/heartbeat/edge/hold?grace=x").status == 400);
    CHECK(api.request("GET", "/heartbeat/-bad/hold").status == 400);
    const auto post = api.request("POST", "/heartbeat/edge/hold");
    CHECK(post.status == 405);
    CHECK(post.header("Allow") == "GET, HEAD");
    CHECK_FALSE(server.find("edge"));
  }
  SECTION("HEAD says what GET would and holds nothing") {
    api.send_raw("HEAD /heartbeat/edge/hold HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto head = api.read_response(true);
    CHECK(head.status == 200);
    CHECK(head.header("Content-Type") == "text/event-stream");
    CHECK_FALSE(server.find("edge"));
    CHECK(server.service().holds()->size() == 0);
  }
  SECTION("per id, per address, in all") {
    auto a1 = hold(server, "a");
    auto a2 = hold(server, "a");
    const auto third = api.request("GET", "/heartbeat/a/hold");
    CHECK(third.status == 503);
    CHECK(json::parse(third.body)["error"] == "too_many_holds_for_id");
    CHECK(third.header("Retry-After"));
    auto b1 = hold(server, "b");
    const auto fourth = api.request("GET", "/heartbeat/c/hold");
    CHECK(fourth.status == 503);
    CHECK(json::parse(fourth.body)["error"] == "too_many_holds_from_address");
    // A slot freed by a drop can be taken again.
    a1->close();
    REQUIRE(eventually([&] { return server.service().holds()->size() == 2; }));
    auto c1 = hold(server, "c");
    CHECK(server.service().holds()->size() == 3);
  }
}

TEST_CASE("stopping the service ends held connections and releases their clients", "[integration][hold]") {
  HoldServer server;
  auto held = hold(server, "edge-8");
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  CHECK(std::chrono::steady_clock::now() - started < kShutdownGrace / 2);  // the grace was not needed
  CHECK(held->wait_for_end());
  const auto client = server.find("edge-8");
  REQUIRE(client);
  CHECK_FALSE(client->held);
  CHECK(client->state == ClientState::kLate);
}

TEST_CASE("server shutdown with a held connection completes at once", "[integration][hold]") {
  auto config = pulse::test::TestServer::default_config();
  config.heartbeat.holds.keep_alive = kKeepAlive;
  pulse::test::TestServer server(config);
  StreamClient held(server.port(), "/heartbeat/edge-9/hold");
  REQUIRE(held.wait_for_event("held"));
  REQUIRE(held.wait_for_comments(1));
  const auto started = std::chrono::steady_clock::now();
  CHECK(server.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - started < 3s);  // well inside the 5 s shutdown timeout
  CHECK(held.wait_for_end());
}

TEST_CASE("a store that may block: the hold goes through the store threads, and a release waits out an outage",
          "[integration][hold]") {
  auto clock = std::make_shared<ManualClock>();
  auto store = std::make_shared<pulse::testing::FlakyStore>(clock);
  HoldServer server(fast_options(), store);
  auto held = hold(server, "edge-f");
  CHECK(server.state("edge-f") == ClientState::kUp);

  // The connection drops while the store cannot be reached: the release is kept, not lost.
  store->set_reachable(false);
  held->close();
  REQUIRE(eventually([&] { return server.service().holds()->size() == 0; }));
  std::this_thread::sleep_for(300ms);  // more than one sweeper pass tried
  store->set_reachable(true);
  REQUIRE(eventually([&] { return server.state("edge-f") == ClientState::kLate; }));
  CHECK_FALSE(server.find("edge-f")->held);

  // The hold, its refreshes and its release never ran on the worker's event loop.
  const auto loop = server.loop_thread();
  const auto threads = store->call_threads();
  CHECK(std::count(threads.begin(), threads.end(), loop) == 0);
  CHECK(threads.size() > 3);
}

TEST_CASE("a hold needs the heartbeat token, not the read token", "[integration][hold]") {
  auto config = pulse::test::TestServer::default_config();
  config.heartbeat.holds.keep_alive = kKeepAlive;
  config.heartbeat_tokens = {"write-token"};
  config.read_tokens = {"read-token"};
  pulse::test::TestServer server(config);
  auto client = server.connect();
  CHECK(client.request("GET", "/heartbeat/edge-t/hold").status == 401);
  CHECK(client.request("GET", "/heartbeat/edge-t/hold?token=read-token").status == 401);
  CHECK(client.request("GET", "/heartbeat/edge-t?token=read-token").status == 404);  // nothing was recorded
  StreamClient held(server.port(), "/heartbeat/edge-t/hold?token=write-token");
  CHECK(held.wait_for_event("held"));
}

TEST_CASE("with the Redis store, another replica sees the hold keep the client up, and the drop",
          "[integration][hold][redis]") {
  auto clock = std::make_shared<ManualClock>();
  auto options = pulse::test::redis_options({}, clock);
  auto holding_store = std::make_shared<pulse::presence::RedisStore>(options);
  auto other_store = std::make_shared<pulse::presence::RedisStore>(options);  // the same prefix: one cluster
  HoldServer holding(fast_options(), holding_store);
  HoldServer other(fast_options(), other_store);

  auto held = hold(holding, "edge-r", "?interval=5");
  CHECK(other.state("edge-r") == ClientState::kUp);
  CHECK(other.find("edge-r")->held);

  // Past the client's interval and the hold refresh: the holding replica keeps it fresh.
  for (int step = 0; step < 3; ++step) {
    clock->advance(kHoldRefresh / 2);
    const auto moved_at = clock->now();
    REQUIRE(eventually([&] {
      const auto client = other.find("edge-r");
      return client && client->next_due >= moved_at + kHoldRefresh;
    }));
    other.service().sweep();
    CHECK(other.state("edge-r") == ClientState::kUp);
  }

  // The drop, seen through the other replica: late at once, down after the hold grace.
  held->close();
  REQUIRE(eventually([&] { return other.state("edge-r") == ClientState::kLate; }));
  CHECK_FALSE(other.find("edge-r")->held);
  clock->advance(kHoldGrace);
  other.service().sweep();
  CHECK(other.state("edge-r") == ClientState::kDown);
}

namespace {

// A client holds on replica `a`, reconnects to replica `b`, and `a` sees its old connection drop
// only then: `a`'s release must not touch the hold `b` has (each registry has its own holder
// token). `b` would hold it again at its next refresh, so the history is what tells: no `late`.
void check_reconnect_to_other_replica(HoldServer& a, HoldServer& b, const std::string& id) {
  CHECK(a.service().holds()->token() != b.service().holds()->token());
  CHECK(a.service().holds()->token().size() == 16);
  auto on_a = hold(a, id);
  auto on_b = hold(b, id);
  CHECK(on_a->wait_for_comments(2));  // a's refreshes meanwhile are not the holder's

  on_a->close();
  REQUIRE(eventually([&] { return a.service().holds()->size() == 0; }));
  std::this_thread::sleep_for(4 * kKeepAlive);  // a's release has landed by now
  CHECK(b.state(id) == ClientState::kUp);
  CHECK(b.find(id)->held);
  const auto detail = b.service().store()->detail(id);
  REQUIRE(detail);
  for (const auto& entry : detail->history) CHECK(entry.to != ClientState::kLate);

  // b's connection is the one that counts.
  on_b->close();
  REQUIRE(eventually([&] { return b.state(id) == ClientState::kLate; }));
  CHECK_FALSE(a.find(id)->held);
}

}  // namespace

TEST_CASE("a client that reconnects to another replica is not released by the old one", "[integration][hold]") {
  // Two replicas of one store, the memory registry shared: only the holder tokens differ.
  auto store = std::make_shared<pulse::presence::PresenceRegistry>(pulse::presence::RegistryOptions{},
                                                                   std::make_shared<ManualClock>());
  HoldServer a(fast_options(), store);
  HoldServer b(fast_options(), store);
  check_reconnect_to_other_replica(a, b, "roam");
}

TEST_CASE("with the Redis store, a client that reconnects to another replica is not released by the old one",
          "[integration][hold][redis]") {
  auto options = pulse::test::redis_options({}, std::make_shared<ManualClock>());
  HoldServer a(fast_options(), std::make_shared<pulse::presence::RedisStore>(options));
  HoldServer b(fast_options(), std::make_shared<pulse::presence::RedisStore>(options));
  check_reconnect_to_other_replica(a, b, "roam-r");
}
