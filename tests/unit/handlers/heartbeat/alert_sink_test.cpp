// The alert sink: the heartbeat hands it exactly the events its own store calls produced (a
// beat's join or change, a sweep's transitions, a sign-off), each once, with a ManualClock.
#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/alert_sink.hpp"
#include "pulse/handlers/heartbeat/service.hpp"

using namespace std::chrono_literals;
using pulse::handlers::heartbeat::AlertSink;
using pulse::handlers::heartbeat::HeartbeatService;
using pulse::http::Method;
using pulse::http::Request;
using pulse::presence::ClientState;
using pulse::presence::EventKind;
using pulse::presence::LeaveReason;
using pulse::presence::ManualClock;
using pulse::presence::PresenceEvent;

namespace {

class RecordingSink final : public AlertSink {
 public:
  explicit RecordingSink(bool sign_offs) : sign_offs_(sign_offs) {}
  void on_event(const PresenceEvent& event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
  }
  [[nodiscard]] bool wants_sign_offs() const noexcept override { return sign_offs_; }
  std::vector<PresenceEvent> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(events_, {});
  }

 private:
  const bool sign_offs_;
  std::mutex mutex_;
  std::vector<PresenceEvent> events_;
};

struct Fixture {
  explicit Fixture(bool sign_offs = true) : sink(std::make_shared<RecordingSink>(sign_offs)) {
    service.set_alert_sink(sink);
    handler = service.api_handler();
  }
  int send(Method method, std::string target) {
    Request request = Request::make(method, std::move(target));
    request.remote_addr = "192.0.2.1";
    return handler->handle(request).status;
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  HeartbeatService service{{}, clock};
  std::shared_ptr<RecordingSink> sink;
  std::shared_ptr<pulse::http::Handler> handler;
};

}  // namespace

TEST_CASE("alerts: a beat's join and change, a sweep's transitions, once each", "[handlers][heartbeat][alerts]") {
  Fixture f;
  REQUIRE(f.send(Method::kPost, "/heartbeat/web-1?interval=10&grace=5") == 201);
  auto events = f.sink->take();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kJoin);
  CHECK(events[0].client.id == "web-1");
  CHECK(events[0].sequence != 0);

  // A plain beat changes nothing: no event.
  REQUIRE(f.send(Method::kPost, "/heartbeat/web-1") == 200);
  CHECK(f.sink->take().empty());

  f.clock->advance(11s);
  f.service.sweep();
  f.clock->advance(5s);
  f.service.sweep();
  f.service.sweep();  // nothing new: nothing twice
  events = f.sink->take();
  REQUIRE(events.size() == 2);
  CHECK(events[0].previous == ClientState::kUp);
  CHECK(events[0].client.state == ClientState::kLate);
  CHECK(events[1].previous == ClientState::kLate);
  CHECK(events[1].client.state == ClientState::kDown);
  CHECK(events[0].sequence < events[1].sequence);

  REQUIRE(f.send(Method::kPost, "/heartbeat/web-1?status=fail&msg=disk") == 200);
  events = f.sink->take();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kChange);
  CHECK(events[0].previous == ClientState::kDown);
  CHECK(events[0].client.state == ClientState::kFailing);
  CHECK(events[0].client.message == "disk");
}

TEST_CASE("alerts: a sign-off, from the client as it was", "[handlers][heartbeat][alerts]") {
  Fixture f;
  REQUIRE(f.send(Method::kPost, "/heartbeat/job-1?status=fail") == 201);
  (void)f.sink->take();
  REQUIRE(f.send(Method::kDelete, "/heartbeat/job-1") == 204);
  auto events = f.sink->take();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kLeave);
  CHECK(events[0].reason == LeaveReason::kSignedOff);
  CHECK(events[0].client.id == "job-1");
  CHECK(events[0].client.state == ClientState::kFailing);
  // Unknown: 404, nothing.
  REQUIRE(f.send(Method::kDelete, "/heartbeat/job-1") == 404);
  CHECK(f.sink->take().empty());
}

TEST_CASE("alerts: no sign-offs unless the sink wants them", "[handlers][heartbeat][alerts]") {
  Fixture f(/*sign_offs=*/false);
  REQUIRE(f.send(Method::kPost, "/heartbeat/job-1") == 201);
  (void)f.sink->take();
  REQUIRE(f.send(Method::kDelete, "/heartbeat/job-1") == 204);
  CHECK(f.sink->take().empty());
}

TEST_CASE("alerts: refused beats produce nothing", "[handlers][heartbeat][alerts]") {
  Fixture f;
  REQUIRE(f.send(Method::kPost, "/heartbeat/bad%20id") == 400);
  REQUIRE(f.send(Method::kPost, "/heartbeat/ok-1?interval=0") == 400);
  CHECK(f.sink->take().empty());
}
