// TokenGate with hand-made requests: what each method class needs, on each guarded path; read
// and write tokens; the header and ?token=; the 401; and, in front of the real heartbeat API, that
// a refused request changes nothing.
#include "pulse/handlers/token_gate.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/service.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::handlers::Access;
using pulse::handlers::AccessTokens;
using pulse::handlers::decide;
using pulse::handlers::GateDecision;
using pulse::handlers::TokenGate;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;
using pulse::http::TokenSet;

namespace {

constexpr const char* kWrite = "write-token-0123456789";
constexpr const char* kRead = "read-token-0123456789";
// Same length as kWrite, one byte off: only a full comparison tells them apart.
constexpr const char* kWrongSameLength = "write-token-0123456788";

// Every path the gate stands in front of.
const std::vector<std::string> kGuardedPaths = {"/heartbeat", "/heartbeat/web-1", "/heartbeat/events", "/metrics"};
const std::vector<Method> kReads = {Method::kGet, Method::kHead};
const std::vector<Method> kWrites = {Method::kPost, Method::kPut, Method::kDelete, Method::kPatch, Method::kOther};

// Answers 200 and counts what reached it.
class Recorder final : public pulse::http::Handler {
 public:
  Response handle(const Request&) override {
    ++calls;
    return Response::text(200, "inner\n");
  }
  std::atomic<int> calls{0};
};

AccessTokens tokens(std::vector<std::string> write, std::vector<std::string> read) {
  AccessTokens result;
  result.write = TokenSet(write);
  result.read = TokenSet(read);
  return result;
}

enum class Via { kNone, kHeader, kQuery };

Request request(Method method, const std::string& path, const std::string& token = {}, Via via = Via::kHeader) {
  if (via == Via::kQuery) return Request::make(method, path + "?token=" + token);
  auto made = Request::make(method, path);
  if (via == Via::kHeader) made.headers.push_back({"Authorization", "Bearer " + token});
  return made;
}

}  // namespace

TEST_CASE("a held heartbeat connection is a write, whatever its method", "[handlers][gate]") {
  using pulse::handlers::access_for;
  CHECK(access_for(Request::make(Method::kGet, "/heartbeat/web-1/hold")) == Access::kWrite);
  CHECK(access_for(Request::make(Method::kHead, "/heartbeat/web-1/hold?interval=5")) == Access::kWrite);
  CHECK(access_for(Request::make(Method::kGet, "/heartbeat/web-1")) == Access::kRead);
  CHECK(access_for(Request::make(Method::kGet, "/heartbeat/hold")) == Access::kRead);  // a client named hold
  CHECK(access_for(Request::make(Method::kGet, "/heartbeat/events")) == Access::kRead);

  pulse::handlers::AccessTokens tokens;
  tokens.write = pulse::http::TokenSet(std::vector<std::string>{"w-token"});
  tokens.read = pulse::http::TokenSet(std::vector<std::string>{"r-token"});
  using pulse::handlers::decide;
  using pulse::handlers::GateDecision;
  CHECK(decide(tokens, request(Method::kGet, "/heartbeat/web-1/hold", "r-token")) == GateDecision::kTokenRejected);
  CHECK(decide(tokens, request(Method::kGet, "/heartbeat/web-1/hold", {}, Via::kNone)) ==
        GateDecision::kTokenRequired);
  CHECK(decide(tokens, request(Method::kGet, "/heartbeat/web-1/hold", "w-token")) == GateDecision::kAllowed);
  CHECK(decide(tokens, request(Method::kGet, "/heartbeat/web-1/hold", "w-token", Via::kQuery)) ==
        GateDecision::kAllowed);
  // Read access left open does not open holds.
  tokens.read = pulse::http::TokenSet();
  CHECK(decide(tokens, request(Method::kGet, "/heartbeat/web-1/hold", {}, Via::kNone)) ==
        GateDecision::kTokenRequired);
  CHECK(decide(tokens, request(Method::kGet, "/heartbeat/web-1", {}, Via::kNone)) == GateDecision::kAllowed);
}

TEST_CASE("the method says what access a request needs", "[handlers][gate]") {
  CHECK(pulse::handlers::access_for(Method::kGet) == Access::kRead);
  CHECK(pulse::handlers::access_for(Method::kHead) == Access::kRead);
  CHECK(pulse::handlers::access_for(Method::kOptions) == Access::kNone);
  for (const auto method : {Method::kPost, Method::kPut, Method::kDelete, Method::kPatch, Method::kTrace,
                            Method::kConnect, Method::kOther}) {
    CHECK(pulse::handlers::access_for(method) == Access::kWrite);
  }
}

TEST_CASE("with both kinds of token: reads take either, writes only the write token", "[handlers][gate]") {
  const auto both = tokens({kWrite}, {kRead});
  for (const auto& path : kGuardedPaths) {
    INFO(path);
    for (const auto method : kReads) {
      INFO(pulse::http::to_string(method));
      CHECK(decide(both, request(method, path, {}, Via::kNone)) == GateDecision::kTokenRequired);
      CHECK(decide(both, request(method, path, kRead)) == GateDecision::kAllowed);
      CHECK(decide(both, request(method, path, kWrite)) == GateDecision::kAllowed);
      CHECK(decide(both, request(method, path, kWrongSameLength)) == GateDecision::kTokenRejected);
      CHECK(decide(both, request(method, path, "read-token")) == GateDecision::kTokenRejected);  // a prefix
      CHECK(decide(both, request(method, path, kRead, Via::kQuery)) == GateDecision::kAllowed);
      CHECK(decide(both, request(method, path, kWrite, Via::kQuery)) == GateDecision::kAllowed);
    }
    for (const auto method : kWrites) {
      INFO(pulse::http::to_string(method));
      CHECK(decide(both, request(method, path, {}, Via::kNone)) == GateDecision::kTokenRequired);
      CHECK(decide(both, request(method, path, kWrite)) == GateDecision::kAllowed);
      CHECK(decide(both, request(method, path, kWrite, Via::kQuery)) == GateDecision::kAllowed);
      CHECK(decide(both, request(method, path, kRead)) == GateDecision::kTokenRejected);  // read-only
      CHECK(decide(both, request(method, path, kRead, Via::kQuery)) == GateDecision::kTokenRejected);
      CHECK(decide(both, request(method, path, kWrongSameLength)) == GateDecision::kTokenRejected);
      CHECK(decide(both, request(method, path, std::string(kWrite) + "x")) == GateDecision::kTokenRejected);
      CHECK(decide(both, request(method, path, "")) == GateDecision::kTokenRejected);
      CHECK(decide(both, request(method, path, "", Via::kQuery)) == GateDecision::kTokenRejected);
    }
    // OPTIONS changes nothing and a preflight never carries credentials.
    CHECK(decide(both, request(Method::kOptions, path, {}, Via::kNone)) == GateDecision::kAllowed);
  }
}

TEST_CASE("a write token alone guards writes and leaves reads open", "[handlers][gate]") {
  const auto write_only = tokens({kWrite}, {});
  for (const auto& path : kGuardedPaths) {
    INFO(path);
    for (const auto method : kReads) {
      CHECK(decide(write_only, request(method, path, {}, Via::kNone)) == GateDecision::kAllowed);
      // Reads are open, so even a wrong token does no harm.
      CHECK(decide(write_only, request(method, path, kWrongSameLength)) == GateDecision::kAllowed);
    }
    for (const auto method : kWrites) {
      CHECK(decide(write_only, request(method, path, {}, Via::kNone)) == GateDecision::kTokenRequired);
      CHECK(decide(write_only, request(method, path, kWrite)) == GateDecision::kAllowed);
      CHECK(decide(write_only, request(method, path, kWrongSameLength)) == GateDecision::kTokenRejected);
    }
  }
}

TEST_CASE("a read token alone guards reads and leaves writes open", "[handlers][gate]") {
  const auto read_only = tokens({}, {kRead});
  for (const auto& path : kGuardedPaths) {
    INFO(path);
    for (const auto method : kReads) {
      CHECK(decide(read_only, request(method, path, {}, Via::kNone)) == GateDecision::kTokenRequired);
      CHECK(decide(read_only, request(method, path, kRead)) == GateDecision::kAllowed);
      CHECK(decide(read_only, request(method, path, kWrite)) == GateDecision::kTokenRejected);
    }
    for (const auto method : kWrites) {
      CHECK(decide(read_only, request(method, path, {}, Via::kNone)) == GateDecision::kAllowed);
    }
  }
}

TEST_CASE("several write tokens: each one works (rotation)", "[handlers][gate]") {
  const auto rotating = tokens({"old-token", "new-token"}, {});
  CHECK(decide(rotating, request(Method::kPost, "/heartbeat/a", "old-token")) == GateDecision::kAllowed);
  CHECK(decide(rotating, request(Method::kPost, "/heartbeat/a", "new-token")) == GateDecision::kAllowed);
  CHECK(decide(rotating, request(Method::kPost, "/heartbeat/a", "older-token")) == GateDecision::kTokenRejected);
}

TEST_CASE("the header wins over ?token=, a malformed bearer is a rejected token", "[handlers][gate]") {
  const auto both = tokens({kWrite}, {kRead});
  auto wrong_header = Request::make(Method::kPost, std::string("/heartbeat/a?token=") + kWrite);
  wrong_header.headers.push_back({"Authorization", std::string("Bearer ") + kWrongSameLength});
  CHECK(decide(both, wrong_header) == GateDecision::kTokenRejected);

  auto basic_and_query = Request::make(Method::kGet, std::string("/heartbeat/events?token=") + kRead);
  basic_and_query.headers.push_back({"Authorization", "Basic dXNlcjpwYXNz"});
  CHECK(decide(both, basic_and_query) == GateDecision::kAllowed);

  auto lowercase = Request::make(Method::kPost, "/heartbeat/a");
  lowercase.headers.push_back({"authorization", std::string("bearer ") + kWrite});
  CHECK(decide(both, lowercase) == GateDecision::kAllowed);

  auto malformed = Request::make(Method::kPost, "/heartbeat/a");
  malformed.headers.push_back({"Authorization", "Bearer"});
  CHECK(decide(both, malformed) == GateDecision::kTokenRejected);

  // A malformed %-escape is no token at all (the API would refuse the query anyway).
  CHECK(decide(both, Request::make(Method::kPost, "/heartbeat/a?token=%zz")) == GateDecision::kTokenRequired);
}

TEST_CASE("a refused request gets 401 with WWW-Authenticate and a JSON error, the inner handler never runs",
          "[handlers][gate]") {
  auto inner = std::make_shared<Recorder>();
  TokenGate gate(inner, std::make_shared<const AccessTokens>(tokens({kWrite}, {kRead})));

  const auto missing = gate.handle(request(Method::kPost, "/heartbeat/a", {}, Via::kNone));
  CHECK(missing.status == 401);
  CHECK(missing.header("WWW-Authenticate") == "Bearer realm=\"pulse\"");
  CHECK(missing.header("Content-Type") == "application/json");
  CHECK(missing.header("Cache-Control") == "no-store");
  const auto missing_body = json::parse(missing.body);
  CHECK(missing_body["error"] == "token_required");
  CHECK(missing_body["detail"].get<std::string>().find("Authorization: Bearer") != std::string::npos);

  const auto wrong = gate.handle(request(Method::kDelete, "/heartbeat/a", kWrongSameLength));
  CHECK(wrong.status == 401);
  CHECK(wrong.header("WWW-Authenticate") == "Bearer realm=\"pulse\", error=\"invalid_token\"");
  CHECK(json::parse(wrong.body)["error"] == "invalid_token");
  // The detail never echoes what was sent.
  CHECK(wrong.body.find(kWrongSameLength) == std::string::npos);

  const auto read_missing = gate.handle(request(Method::kGet, "/heartbeat/events", {}, Via::kNone));
  CHECK(read_missing.status == 401);
  CHECK(json::parse(read_missing.body)["detail"].get<std::string>().find("read token") != std::string::npos);
  CHECK(inner->calls == 0);

  CHECK(gate.handle(request(Method::kGet, "/heartbeat/events", kRead, Via::kQuery)).status == 200);
  CHECK(gate.handle(request(Method::kPost, "/heartbeat/a", kWrite)).status == 200);
  CHECK(gate.handle(request(Method::kOptions, "/heartbeat", {}, Via::kNone)).status == 200);
  CHECK(inner->calls == 3);
}

TEST_CASE("guard() adds no gate when no token is set", "[handlers][gate]") {
  auto inner = std::make_shared<Recorder>();
  CHECK(pulse::handlers::guard(inner, std::make_shared<const AccessTokens>()) == inner);
  CHECK(pulse::handlers::guard(inner, nullptr) == inner);
  const auto guarded = pulse::handlers::guard(inner, std::make_shared<const AccessTokens>(tokens({kWrite}, {})));
  CHECK(guarded != inner);
  CHECK(guarded->handle(request(Method::kPost, "/heartbeat/a", {}, Via::kNone)).status == 401);
  CHECK(inner->calls == 0);
}

TEST_CASE("in front of the heartbeat API, a wrong or missing token changes nothing", "[handlers][gate]") {
  auto clock = std::make_shared<pulse::presence::ManualClock>();
  pulse::handlers::heartbeat::HeartbeatService service({}, clock);
  TokenGate gate(service.api_handler(), std::make_shared<const AccessTokens>(tokens({kWrite}, {kRead})));
  const auto store = service.store();

  CHECK(gate.handle(request(Method::kPost, "/heartbeat/web-1", {}, Via::kNone)).status == 401);
  CHECK(gate.handle(request(Method::kPut, "/heartbeat/web-1", kWrongSameLength)).status == 401);
  CHECK(gate.handle(request(Method::kPost, "/heartbeat/web-1", kRead)).status == 401);
  CHECK(gate.handle(request(Method::kPost, "/heartbeat/web-1", kRead, Via::kQuery)).status == 401);
  CHECK_FALSE(store->find("web-1").has_value());
  CHECK(store->counters().beats_total == 0);

  CHECK(gate.handle(request(Method::kPost, "/heartbeat/web-1", kWrite)).status == 201);
  CHECK(gate.handle(request(Method::kPost, "/heartbeat/web-1", kWrite, Via::kQuery)).status == 200);
  REQUIRE(store->find("web-1").has_value());

  CHECK(gate.handle(request(Method::kDelete, "/heartbeat/web-1", {}, Via::kNone)).status == 401);
  CHECK(gate.handle(request(Method::kDelete, "/heartbeat/web-1", kRead)).status == 401);
  CHECK(store->find("web-1").has_value());

  CHECK(gate.handle(request(Method::kGet, "/heartbeat/web-1", {}, Via::kNone)).status == 401);
  const auto shown = gate.handle(request(Method::kGet, "/heartbeat/web-1", kRead));
  CHECK(shown.status == 200);
  CHECK(json::parse(shown.body)["beats"] == 2);
  CHECK(gate.handle(request(Method::kGet, "/heartbeat", kWrite)).status == 200);

  CHECK(gate.handle(request(Method::kDelete, "/heartbeat/web-1", kWrite)).status == 204);
  CHECK_FALSE(store->find("web-1").has_value());
}
