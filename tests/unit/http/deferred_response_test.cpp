// DeferredResponse alone: one completion counts, it reaches the connection's callback whether it
// comes before or after attach(), a detached connection refuses it, and an abandoned one
// answers 503.
#include "pulse/http/deferred_response.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "pulse/http/response_stream.hpp"

using pulse::http::DeferredResponse;
using pulse::http::Response;
using pulse::http::ResponseStream;

namespace {

// What the connection's callback received.
struct Received {
  std::vector<Response> responses;

  DeferredResponse::OnComplete callback() {
    return [this](Response response) { responses.push_back(std::move(response)); };
  }
};

}  // namespace

TEST_CASE("the first complete() reaches the attached callback, later ones are ignored", "[deferred]") {
  Received received;
  DeferredResponse deferred;
  deferred.attach(received.callback());
  CHECK(received.responses.empty());
  CHECK_FALSE(deferred.completed());

  CHECK(deferred.complete(Response::text(201, "first")));
  CHECK(deferred.completed());
  REQUIRE(received.responses.size() == 1);
  CHECK(received.responses[0].status == 201);
  CHECK(received.responses[0].body == "first");

  CHECK_FALSE(deferred.complete(Response::text(200, "second")));
  CHECK(received.responses.size() == 1);
}

TEST_CASE("a response completed before attach() is handed over by attach()", "[deferred]") {
  Received received;
  DeferredResponse deferred;
  CHECK(deferred.complete(Response::text(200, "early")));
  CHECK(received.responses.empty());
  deferred.attach(received.callback());
  REQUIRE(received.responses.size() == 1);
  CHECK(received.responses[0].body == "early");
  CHECK_FALSE(deferred.complete(Response::text(200, "late")));
  CHECK(received.responses.size() == 1);
}

TEST_CASE("complete() from another thread calls the callback on that thread", "[deferred]") {
  std::optional<std::thread::id> called_on;
  int status = 0;
  auto deferred = std::make_shared<DeferredResponse>();
  deferred->attach([&](Response response) {
    called_on = std::this_thread::get_id();
    status = response.status;
  });
  std::thread::id producer_id;
  bool accepted = false;
  std::thread producer([&, deferred] {
    producer_id = std::this_thread::get_id();
    accepted = deferred->complete(Response::text(202, "later"));
  });
  producer.join();
  CHECK(accepted);
  REQUIRE(called_on.has_value());
  CHECK(*called_on == producer_id);
  CHECK(status == 202);
}

TEST_CASE("an abandoned deferred response answers 503 as it is destroyed", "[deferred]") {
  Received received;
  {
    DeferredResponse deferred;
    deferred.attach(received.callback());
  }
  REQUIRE(received.responses.size() == 1);
  CHECK(received.responses[0].status == 503);
  CHECK(received.responses[0].body == Response::error(503).body);
}

TEST_CASE("a completed deferred response says nothing more as it is destroyed", "[deferred]") {
  Received received;
  {
    DeferredResponse deferred;
    deferred.attach(received.callback());
    CHECK(deferred.complete(Response::text(200, "done")));
  }
  REQUIRE(received.responses.size() == 1);
  CHECK(received.responses[0].status == 200);
}

TEST_CASE("after detach() (the connection left) complete() is refused and nothing is called", "[deferred]") {
  Received received;
  {
    DeferredResponse deferred;
    deferred.attach(received.callback());
    deferred.detach();
    CHECK_FALSE(deferred.complete(Response::text(200, "too late")));
  }
  CHECK(received.responses.empty());  // no 503 either: nobody listens
}

TEST_CASE("a stream in a response that cannot be sent is detached, so its producer lets go", "[deferred]") {
  auto refused_stream = std::make_shared<ResponseStream>();
  auto unsent_stream = std::make_shared<ResponseStream>();
  {
    DeferredResponse deferred;
    deferred.detach();
    Response refused;
    refused.stream = refused_stream;
    CHECK_FALSE(deferred.complete(std::move(refused)));
  }
  CHECK_FALSE(refused_stream->write("data: x\n\n"));
  {
    DeferredResponse never_attached;
    Response unsent;
    unsent.stream = unsent_stream;
    CHECK(never_attached.complete(std::move(unsent)));
  }
  CHECK_FALSE(unsent_stream->write("data: x\n\n"));
}

TEST_CASE("an unattached deferred response is destroyed without a word", "[deferred]") {
  // A handler that made one and then answered directly: nothing to notify, nothing leaks.
  auto deferred = std::make_unique<DeferredResponse>();
  CHECK_FALSE(deferred->completed());
  deferred.reset();
  SUCCEED();
}
