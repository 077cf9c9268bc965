// The real Connection over a socketpair (ConnectionHarness): keep-alive, pipelining, closing
// rules, parse errors, back-pressure, timeouts, half-close, event streams, deferred responses
// and shutdown.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "connection_harness.hpp"
#include "pulse/http/connection.hpp"
#include "pulse/http/connection_state.hpp"
#include "pulse/http/deferred_response.hpp"
#include "pulse/http/response_stream.hpp"

using namespace std::chrono_literals;
using pulse::http::Connection;
using pulse::http::ConnectionState;
using pulse::http::DeferredResponse;
using pulse::http::Limits;
using pulse::http::Response;
using pulse::http::ResponseStream;
using pulse::http::testing::Clock;
using pulse::http::testing::kBigBodyBytes;
using Harness = pulse::http::testing::ConnectionHarness;

namespace {

std::string get(std::string_view target, std::string_view extra_headers = {}) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: t\r\n{}\r\n", target, extra_headers);
}

Limits short_timeouts() {
  Limits limits;
  limits.header_timeout = 150ms;
  limits.keepalive_timeout = 150ms;
  return limits;
}

}  // namespace

TEST_CASE("a GET is answered and the connection kept alive", "[connection]") {
  Harness harness;
  harness.send(get("/echo/one"));
  auto response = harness.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "/echo/one");
  CHECK_FALSE(response.header("Connection").has_value());
  CHECK(response.header("Date").has_value());

  harness.send(get("/echo/two"));
  response = harness.read_response();
  CHECK(response.body == "/echo/two");
  CHECK_FALSE(harness.closes_within(100ms));
  CHECK(harness.state() == ConnectionState::kOpen);
  CHECK(harness.on_loop([](Connection& connection) { return connection.idle(); }));
}

TEST_CASE("pipelined requests in one send are answered in order", "[connection]") {
  Harness harness;
  harness.send(get("/echo/1") + get("/missing") + "HEAD /echo/3 HTTP/1.1\r\nHost: t\r\n\r\n" +
               "POST /echo/4 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + get("/echo/5"));
  CHECK(harness.read_response().body == "/echo/1");
  CHECK(harness.read_response().status == 404);
  const auto head = harness.read_response(true);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Length") == "7");  // what GET would have sent
  CHECK(harness.read_response().body == "/echo/4");
  CHECK(harness.read_response().body == "/echo/5");
  CHECK(harness.statuses() == std::vector<int>{200, 404, 200, 200, 200});
  CHECK_FALSE(harness.closes_within(50ms));
}

TEST_CASE("HTTP/1.0 closes after the response, at once when nothing is left unread", "[connection]") {
  Harness harness;
  harness.send("GET /echo/old HTTP/1.0\r\n\r\n");
  const auto response = harness.read_response();
  CHECK(response.body == "/echo/old");
  CHECK(response.header("Connection") == "close");
  CHECK(harness.read_to_eof().empty());
  // Nothing was pipelined or half-sent: no half-close, no waiting for the client's EOF.
  CHECK(harness.server_closed_within(2s));
  CHECK(harness.state() == ConnectionState::kClosed);
}

TEST_CASE("a close with input left unread lingers until the client closes", "[connection]") {
  Harness harness;
  // The second request is never answered; closing at once with it unread would reset the first
  // response away, so the server half-closes and reads to the client's EOF first.
  harness.send("GET /echo/old HTTP/1.0\r\n\r\nGET /echo/unread HTTP/1.0\r\n\r\n");
  const auto response = harness.read_response();
  CHECK(response.body == "/echo/old");
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.state() == ConnectionState::kLingering);
  CHECK_FALSE(harness.server_closed_within(50ms));
  harness.shutdown_write();
  CHECK(harness.server_closed_within(2s));
  CHECK(harness.state() == ConnectionState::kClosed);
}

TEST_CASE("HTTP/1.0 with Connection: keep-alive stays open", "[connection]") {
  Harness harness;
  harness.send("GET /echo/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK(harness.read_response().header("Connection") == "keep-alive");
  CHECK_FALSE(harness.closes_within(50ms));
}

TEST_CASE("Connection: close is answered, then nothing pipelined after it", "[connection]") {
  Harness harness;
  harness.send(get("/echo/last", "Connection: close\r\n") + get("/echo/ignored"));
  const auto response = harness.read_response();
  CHECK(response.body == "/echo/last");
  CHECK(response.header("Connection") == "close");
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.statuses() == std::vector<int>{200});
}

TEST_CASE("a parse error gets 400 and the connection closes with nothing after it", "[connection]") {
  Harness harness;
  harness.send("GET /echo/a HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n" + get("/echo/after"));
  const auto response = harness.read_response();
  CHECK(response.status == 400);
  CHECK(response.header("Connection") == "close");
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.statuses() == std::vector<int>{400});
}

TEST_CASE("back-pressure: a client that does not read stops the parsing, then gets everything in order",
          "[connection]") {
  Harness harness;
  constexpr int kRequests = 40;  // 10 MiB of responses: far above the high-water mark
  std::string batch;
  for (int i = 0; i < kRequests; ++i) batch += get("/big/" + std::to_string(i));
  harness.send(batch);
  // Not reading: the server answers until the queue passes the mark, then leaves the rest unparsed.
  std::this_thread::sleep_for(200ms);
  const auto answered_while_stuck = harness.statuses().size();
  CHECK(answered_while_stuck > 0);
  CHECK(answered_while_stuck < static_cast<std::size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    INFO("response " << i);
    const auto response = harness.read_response();
    REQUIRE(response.body.size() == kBigBodyBytes);
    CHECK(response.body.starts_with(std::to_string(i) + "\n"));
  }
  CHECK(harness.statuses().size() == static_cast<std::size_t>(kRequests));
  CHECK(harness.state() == ConnectionState::kOpen);
}

TEST_CASE("a handler gets the time its request came by the loop's clock", "[connection]") {
  Harness harness;
  // One request first, so that the connection is registered and its loop asleep: a request it
  // found at start() would carry the time of the loop iteration that started it.
  harness.send(get("/echo/first"));
  REQUIRE(harness.read_response().status == 200);
  const auto before = pulse::base::MonotonicClock::now();
  harness.send(get("/received-at"));
  const auto response = harness.read_response();
  const auto after = pulse::base::MonotonicClock::now();
  REQUIRE(response.status == 200);
  using pulse::base::MonotonicClock;
  const MonotonicClock::time_point stamped{MonotonicClock::duration(std::stoll(response.body))};
  CHECK(stamped >= before);
  CHECK(stamped <= after);
}

TEST_CASE("a request not complete within the header timeout gets 408, then close", "[connection]") {
  Harness harness(short_timeouts());
  const auto start = Clock::now();
  harness.send("GET /echo/slow HTTP/1.1\r\nHost: t\r\n");  // headers never end
  const auto response = harness.read_response();
  CHECK(Clock::now() - start >= 140ms);  // not before the timeout (10 ms timer ticks)
  CHECK(response.status == 408);
  CHECK(response.header("Connection") == "close");
  CHECK(harness.read_to_eof().empty());
}

TEST_CASE("a body that trickles in gets 408 at the body timeout, however steadily it comes", "[connection]") {
  Limits limits = short_timeouts();
  limits.body_timeout = 400ms;
  limits.header_timeout = 2s;  // a pause inside the body: this thread stalling must not end it
  Harness harness(limits);
  const auto start = Clock::now();  // before the head is sent: the server's clock starts later
  harness.send("POST /echo/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
  // A byte every 50 ms: never a pause anywhere near the header timeout.
  while (!harness.closes_within(50ms) && Clock::now() - start < 2s) harness.send("a");
  const auto elapsed = Clock::now() - start;
  CHECK(elapsed >= 390ms);
  CHECK(elapsed < 1s);
  CHECK(harness.statuses() == std::vector<int>{408});
}

TEST_CASE("a body that pauses for a header timeout gets 408", "[connection]") {
  Limits limits = short_timeouts();
  limits.body_timeout = 5s;
  Harness harness(limits);
  const auto start = Clock::now();  // before the send: the server's clock starts later
  harness.send("POST /echo/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  const auto response = harness.read_response();
  CHECK(response.status == 408);
  CHECK(Clock::now() - start >= 140ms);
  CHECK(Clock::now() - start < 2s);
}

TEST_CASE("an idle keep-alive connection is closed silently after its timeout", "[connection]") {
  Limits limits = short_timeouts();
  limits.keepalive_timeout = 400ms;  // distinct from the 150 ms header timeout: which one applied shows
  Harness harness(limits);
  const auto start = Clock::now();  // the timeout counts from the server's write, after this
  harness.send(get("/echo/a"));
  CHECK(harness.read_response().status == 200);
  CHECK(harness.read_to_eof().empty());
  CHECK(Clock::now() - start >= 390ms);
  CHECK(harness.statuses() == std::vector<int>{200});  // no 408 for an idle connection
}

TEST_CASE("a connection that never sends is closed silently at the header timeout", "[connection]") {
  Limits limits = short_timeouts();
  limits.keepalive_timeout = 2s;  // before the first request the header timeout applies, not this
  const auto start = Clock::now();
  Harness harness(limits);
  CHECK(harness.read_to_eof().empty());
  CHECK(Clock::now() - start >= 140ms);
  CHECK(Clock::now() - start < 1s);
  CHECK(harness.statuses().empty());
}

TEST_CASE("a client that stops reading is dropped at the write timeout", "[connection]") {
  Limits limits = short_timeouts();
  limits.write_timeout = 300ms;
  Harness harness(limits);
  std::string pipeline;
  for (int i = 0; i < 20; ++i) pipeline += get("/big/" + std::to_string(i));  // 5 MiB, far past the socket buffers
  harness.send(pipeline);
  const auto start = Clock::now();
  CHECK(harness.server_closed_within(3s));
  CHECK(Clock::now() - start >= 250ms);
}

TEST_CASE("a lingering close ends at the linger timeout when the client never closes", "[connection]") {
  Harness harness;
  harness.send("GET /echo/old HTTP/1.0\r\n\r\nGET /echo/unread HTTP/1.0\r\n\r\n");
  CHECK(harness.read_response().status == 200);
  const auto start = Clock::now();
  CHECK(harness.state() == ConnectionState::kLingering);
  // The client neither sends EOF nor anything else: the server gives up after kLingerTimeout.
  CHECK(harness.server_closed_within(4s));
  CHECK(Clock::now() - start >= pulse::http::kLingerTimeout - 100ms);
}

TEST_CASE("a peer that half-closes after its request still gets the answer", "[connection]") {
  Harness harness;
  harness.send(get("/echo/a") + get("/echo/b"));
  harness.shutdown_write();
  CHECK(harness.read_response().body == "/echo/a");
  CHECK(harness.read_response().body == "/echo/b");
  CHECK(harness.read_to_eof().empty());
  // The peer already sent its EOF: no lingering.
  CHECK(harness.server_closed_within(2s));
}

TEST_CASE("a handler that throws gets 500 and the connection stays usable", "[connection]") {
  Harness harness;
  harness.send(get("/throw"));
  CHECK(harness.read_response().status == 500);
  harness.send(get("/echo/after"));
  CHECK(harness.read_response().body == "/echo/after");
}

TEST_CASE("an event stream to a 1.1 client is chunked and its end closes the connection", "[connection]") {
  Harness harness;
  harness.send(get("/stream"));
  const auto head = harness.read_response(true);
  CHECK(head.status == 200);
  CHECK(head.header("Transfer-Encoding") == "chunked");
  CHECK_FALSE(head.header("Content-Length").has_value());
  CHECK(harness.state() == ConnectionState::kStreaming);
  CHECK_FALSE(harness.on_loop([](Connection& connection) { return connection.idle(); }));

  auto stream = harness.handler().stream();
  REQUIRE(stream);
  CHECK(stream->write("data: 1\n\n"));
  CHECK(harness.read_exactly(14) == "9\r\ndata: 1\n\n\r\n");
  CHECK(stream->write("data: 2\n\n"));
  stream->close();
  CHECK(harness.read_to_eof() == "9\r\ndata: 2\n\n\r\n0\r\n\r\n");
  // The watcher sent nothing after its request: the server closes without lingering.
  CHECK(harness.server_closed_within(2s));
}

TEST_CASE("an event stream to a 1.0 client is sent raw and ended by the close", "[connection]") {
  Harness harness;
  harness.send("GET /stream HTTP/1.0\r\n\r\n");
  const auto head = harness.read_response(true);
  CHECK(head.header("Connection") == "close");
  CHECK_FALSE(head.header("Transfer-Encoding").has_value());
  auto stream = harness.handler().stream();
  REQUIRE(stream);
  CHECK(stream->write("data: x\n\n"));
  stream->close();
  CHECK(harness.read_to_eof() == "data: x\n\n");
}

TEST_CASE("a watcher that leaves closes the stream, the producer sees it", "[connection]") {
  Harness harness;
  harness.send(get("/stream"));
  (void)harness.read_response(true);
  auto stream = harness.handler().stream();
  REQUIRE(stream);
  harness.shutdown_write();
  CHECK(harness.server_closed_within(2s));
  CHECK_FALSE(stream->write("data: late\n\n"));
}

TEST_CASE("a watcher that leaves runs the stream's detach hook at once, without a write", "[connection]") {
  Harness harness;
  harness.send(get("/stream"));
  (void)harness.read_response(true);
  auto stream = harness.handler().stream();
  REQUIRE(stream);
  std::promise<std::thread::id> detached;
  auto detached_on = detached.get_future();
  stream->on_detached([&detached] { detached.set_value(std::this_thread::get_id()); });
  harness.close_client();
  REQUIRE(detached_on.wait_for(2s) == std::future_status::ready);
  CHECK(detached_on.get() != std::this_thread::get_id());  // the connection's loop thread
  CHECK(stream->closed());
}

TEST_CASE("a stream that ends runs its detach hook once", "[connection]") {
  Harness harness;
  harness.send(get("/stream"));
  (void)harness.read_response(true);
  auto stream = harness.handler().stream();
  REQUIRE(stream);
  std::atomic<int> runs{0};
  stream->on_detached([&runs] { ++runs; });
  stream->close();
  (void)harness.read_to_eof();  // the end of the chunked body
  CHECK(harness.server_closed_within(2s));
  stream->detach();  // a second detach finds no hook left
  CHECK(runs == 1);
}

TEST_CASE("shutdown closes an idle connection at once", "[connection]") {
  Harness harness;
  harness.send(get("/echo/a"));
  CHECK(harness.read_response().status == 200);
  harness.on_loop([](Connection& connection) {
    connection.begin_shutdown();
    return 0;
  });
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.state() == ConnectionState::kClosed);
}

TEST_CASE("a deferred response completed from another thread is written, and the connection goes on",
          "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred"));
  auto deferred = harness.wait_for_deferred();
  CHECK(harness.state() == ConnectionState::kAwaitingResponse);
  CHECK_FALSE(harness.on_loop([](Connection& connection) { return connection.idle(); }));
  std::atomic<bool> accepted{false};  // checked here: Catch's assertions are not thread-safe
  std::thread producer([deferred = std::move(deferred), &accepted] {
    std::this_thread::sleep_for(20ms);
    accepted = deferred->complete(Response::text(201, "later"));
  });
  const auto response = harness.read_response();
  producer.join();
  CHECK(accepted);
  CHECK(response.status == 201);
  CHECK(response.body == "later");
  CHECK_FALSE(response.header("Connection").has_value());
  CHECK(harness.state() == ConnectionState::kOpen);
  harness.send(get("/echo/after"));
  CHECK(harness.read_response().body == "/echo/after");
  CHECK(harness.statuses() == std::vector<int>{201, 200});
}

TEST_CASE("requests pipelined behind a deferred one are answered after it, in order", "[connection][deferred]") {
  Harness harness;
  harness.send(get("/echo/first") + get("/deferred") + get("/echo/third") + get("/echo/fourth"));
  CHECK(harness.read_response().body == "/echo/first");
  auto deferred = harness.wait_for_deferred();
  CHECK_FALSE(harness.closes_within(100ms));
  CHECK(harness.statuses() == std::vector<int>{200});  // nothing behind it was even parsed
  bool accepted = false;
  std::thread([deferred, &accepted] { accepted = deferred->complete(Response::text(202, "second")); }).join();
  CHECK(accepted);
  CHECK(harness.read_response().body == "second");
  CHECK(harness.read_response().body == "/echo/third");
  CHECK(harness.read_response().body == "/echo/fourth");
  CHECK(harness.statuses() == std::vector<int>{200, 202, 200, 200});
}

TEST_CASE("a deferred response to HTTP/1.0 closes the connection after it", "[connection][deferred]") {
  Harness harness;
  harness.send("GET /deferred HTTP/1.0\r\n\r\n" + get("/echo/ignored"));
  auto deferred = harness.wait_for_deferred();
  CHECK(deferred->complete(Response::text(200, "old")));
  const auto response = harness.read_response();
  CHECK(response.body == "old");
  CHECK(response.header("Connection") == "close");
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.state() == ConnectionState::kLingering);
  CHECK(harness.statuses() == std::vector<int>{200});
}

TEST_CASE("HEAD of a deferred response gets GET's headers", "[connection][deferred]") {
  Harness harness;
  harness.send("HEAD /deferred HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(harness.wait_for_deferred()->complete(Response::text(200, "hello")));
  const auto head = harness.read_response(true);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Length") == "5");
  harness.send(get("/echo/next"));
  CHECK(harness.read_response().body == "/echo/next");  // no body bytes were sent in between
}

TEST_CASE("a peer that half-closes while its response is deferred still gets it", "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred"));
  harness.shutdown_write();
  auto deferred = harness.wait_for_deferred();
  CHECK(harness.reaches_state(ConnectionState::kAwaitingResponseToHalfClosedPeer, 2s));
  CHECK_FALSE(harness.server_closed_within(100ms));  // the EOF does not close it while it waits
  CHECK(deferred->complete(Response::text(200, "for you")));
  CHECK(harness.read_response().body == "for you");
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.server_closed_within(2s));  // no lingering: the peer already sent its EOF
}

TEST_CASE("a peer that resets while its response is deferred closes it, a late complete() is refused",
          "[connection][deferred]") {
  auto harness = std::make_unique<Harness>();
  harness->send(get("/echo/unread") + get("/deferred"));
  auto deferred = harness->wait_for_deferred();
  REQUIRE(harness->readable_within(2s));  // the first response waits, unread, in our socket
  harness->close_client();                // closing with unread bytes: the server sees a reset
  CHECK(harness->server_closed_within(2s));
  CHECK(harness->state() == ConnectionState::kClosed);
  auto stream = std::make_shared<ResponseStream>();
  Response late;
  late.stream = stream;
  CHECK_FALSE(deferred->complete(std::move(late)));
  CHECK_FALSE(stream->write("data: nobody\n\n"));  // the producer learns that nobody reads it

  // And once the connection and its loop are gone altogether.
  auto second = std::make_unique<Harness>();
  second->send(get("/deferred"));
  auto orphan = second->wait_for_deferred();
  second.reset();
  CHECK_FALSE(orphan->complete(Response::text(200, "too late")));
  orphan.reset();  // and its destructor has nobody to answer
}

TEST_CASE("a deferred response completed with an event stream streams", "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred"));
  auto stream = std::make_shared<ResponseStream>();
  Response response;
  response.headers.push_back({"Content-Type", "text/event-stream"});
  response.stream = stream;
  CHECK(harness.wait_for_deferred()->complete(std::move(response)));
  const auto head = harness.read_response(true);
  CHECK(head.status == 200);
  CHECK(head.header("Transfer-Encoding") == "chunked");
  CHECK(harness.reaches_state(ConnectionState::kStreaming, 2s));
  CHECK(stream->write("data: 1\n\n"));
  CHECK(harness.read_exactly(14) == "9\r\ndata: 1\n\n\r\n");
  stream->close();
  CHECK(harness.read_to_eof() == "0\r\n\r\n");
}

TEST_CASE("a deferred response dropped unanswered is answered 503, and the connection goes on",
          "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred"));
  auto deferred = harness.wait_for_deferred();
  CHECK_FALSE(harness.closes_within(50ms));
  deferred.reset();  // the producer let go (its queue was torn down) without completing it
  CHECK(harness.read_response().status == 503);
  harness.send(get("/echo/after"));
  CHECK(harness.read_response().body == "/echo/after");
  CHECK(harness.statuses() == std::vector<int>{503, 200});
}

TEST_CASE("a deferred response completed early or kept by nobody is still answered", "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred-now") + get("/deferred-abandoned") + get("/echo/after"));
  CHECK(harness.read_response().body == "now");  // completed before the handler returned it
  CHECK(harness.read_response().status == 503);  // the connection held the last reference
  CHECK(harness.read_response().body == "/echo/after");
}

TEST_CASE("no request or keep-alive timeout runs while a response is awaited", "[connection][deferred]") {
  Harness harness(short_timeouts());  // 150 ms header and keep-alive timeouts
  harness.send(get("/deferred"));
  auto deferred = harness.wait_for_deferred();
  CHECK_FALSE(harness.closes_within(400ms));
  const auto start = Clock::now();  // the keep-alive clock starts when the answer is written, later
  CHECK(deferred->complete(Response::text(200, "patient")));
  CHECK(harness.read_response().body == "patient");
  CHECK(harness.read_to_eof().empty());  // after the answer, the keep-alive timeout again
  CHECK(Clock::now() - start >= 140ms);
  CHECK(harness.statuses() == std::vector<int>{200});
}

TEST_CASE("shutdown waits for an awaited response, which then closes the connection", "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred"));
  auto deferred = harness.wait_for_deferred();
  harness.begin_shutdown();
  CHECK_FALSE(harness.closes_within(100ms));
  CHECK(harness.state() == ConnectionState::kAwaitingResponse);
  CHECK(deferred->complete(Response::text(200, "last")));
  const auto response = harness.read_response();
  CHECK(response.body == "last");
  CHECK(response.header("Connection") == "close");
  CHECK(harness.read_to_eof().empty());
}

TEST_CASE("abort() ends the wait for a deferred response", "[connection][deferred]") {
  Harness harness;
  harness.send(get("/deferred"));
  auto deferred = harness.wait_for_deferred();
  harness.begin_shutdown();
  harness.on_loop([](Connection& connection) {
    connection.abort();  // the grace period is over
    return 0;
  });
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.state() == ConnectionState::kClosed);
  CHECK_FALSE(deferred->complete(Response::text(200, "too late")));
  CHECK(harness.statuses().empty());
}

TEST_CASE("an empty line split between two reads before a request is still one CRLF", "[connection]") {
  // Found by the connection fuzzer: the parser is dropped between requests, but not while it
  // holds the "\r" of a CRLF whose "\n" is in the next read.
  Harness harness;
  harness.send("\r");
  CHECK_FALSE(harness.closes_within(50ms));
  harness.send("\n" + get("/echo/after-crlf"));
  const auto response = harness.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "/echo/after-crlf");
}

// ---- a connection handed over with its request (deferred accept) ---------------------------------

using Arrival = Harness::ArrivesWithInput;

TEST_CASE("handed over with an HTTP/1.0 request: answered and closed from start()", "[connection][accept]") {
  Harness harness(Arrival{"GET /echo/early HTTP/1.0\r\n\r\n"});
  const auto response = harness.read_response();
  CHECK(response.body == "/echo/early");
  CHECK(harness.read_to_eof().empty());
  CHECK(harness.server_closed_within(2s));
  CHECK(harness.state() == ConnectionState::kClosed);
}

TEST_CASE("handed over with a keep-alive request: answered, then registered for the next", "[connection][accept]") {
  Harness harness(Arrival{get("/echo/first")});
  CHECK(harness.read_response().body == "/echo/first");
  harness.send(get("/echo/second"));  // needs the epoll registration made after the answer
  CHECK(harness.read_response().body == "/echo/second");
  CHECK_FALSE(harness.closes_within(100ms));
  CHECK(harness.state() == ConnectionState::kOpen);
}

TEST_CASE("handed over with nothing after all: it waits for the request", "[connection][accept]") {
  Harness harness(Arrival{""});
  CHECK_FALSE(harness.readable_within(100ms));
  harness.send(get("/echo/late"));
  CHECK(harness.read_response().body == "/echo/late");
}

TEST_CASE("handed over with requests whose answers fill the socket: the rest follows on EPOLLOUT",
          "[connection][accept]") {
  std::string batch;
  for (int i = 0; i < 8; ++i) batch += get("/big/" + std::to_string(i));  // 2 MiB: more than a socket holds
  Harness harness(Arrival{batch});
  for (int i = 0; i < 8; ++i) {
    INFO("response " << i);
    const auto response = harness.read_response();
    REQUIRE(response.body.size() == kBigBodyBytes);
    CHECK(response.body.starts_with(std::to_string(i) + "\n"));
  }
  CHECK(harness.state() == ConnectionState::kOpen);
}
