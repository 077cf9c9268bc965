// libFuzzer driver for the whole /heartbeat API in memory: a HeartbeatService on a ManualClock,
// fed a sequence of hand-made requests whose method, target (path and query), headers and body
// come from the fuzzer, with the clock moved and the sweeper run between them. That reaches id
// validation, query, form and message parsing, the list and its cache, ETags, sign-off and the
// event streams. Every response has a status from 100 to 599; a JSON body parses (errors say
// which); what a request changed is what the next request sees; every event-stream event is
// well formed.
//
// Input: one request per line, "<method><header><time><target>[ <body or header value>]":
//   method  G GET, H HEAD, P POST, U PUT, D DELETE, O OPTIONS, X PATCH, other: an unknown method;
//           lowercase: the same from a second client address
//   header  '-' none, f/F form Content-Type (plain/with charset), j JSON, t text, i If-None-Match,
//           I If-None-Match with the last list ETag, e Last-Event-ID
//   time    '1'..'5' move the clock 1 s, 10 s, 60 s, 1 h, 2 days and sweep; 's' sweep only
//   target  a path not starting with '/' is taken as "/heartbeat/<target>"
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "pulse/base/parse.hpp"
#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/http/request.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/presence/clock.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::fuzz::require;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;

namespace {

// Small, so the registry fills up and the stream limits are reached by short inputs.
constexpr std::size_t kMaxClients = 8;
constexpr std::size_t kMaxStreams = 4;
constexpr std::size_t kMaxStreamsPerAddress = 2;
constexpr std::size_t kMaxRequests = 64;

struct Api {
  Api()
      : service(
            [] {
              pulse::handlers::heartbeat::HeartbeatOptions options;
              options.max_clients = kMaxClients;
              options.streams.max_streams = kMaxStreams;
              options.streams.max_per_address = kMaxStreamsPerAddress;
              return options;
            }(),
            clock),
        handler(service.api_handler()) {}

  std::shared_ptr<pulse::presence::ManualClock> clock = std::make_shared<pulse::presence::ManualClock>();
  pulse::handlers::heartbeat::HeartbeatService service;
  std::shared_ptr<pulse::http::Handler> handler;
  std::vector<std::shared_ptr<pulse::http::ResponseStream>> streams;
  std::vector<std::optional<std::uint64_t>> last_ids;  // per stream: the last SSE id it carried
  std::string last_etag;
};

Method method_of(char c) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case 'G': return Method::kGet;
    case 'H': return Method::kHead;
    case 'P': return Method::kPost;
    case 'U': return Method::kPut;
    case 'D': return Method::kDelete;
    case 'O': return Method::kOptions;
    case 'X': return Method::kPatch;
    default: return Method::kOther;
  }
}

// Checks what every response must be, and returns its JSON document when it has one.
std::optional<json> check_response(const Response& response) {
  require(response.status >= 100 && response.status <= 599, "a status from 100 to 599");
  if (response.status == 204 || response.status == 304) {
    require(response.body_view().empty() && !response.stream, "204 and 304 have no body");
  }
  if (response.status == 405) require(response.header("Allow").has_value(), "405 says Allow");
  if (response.status == 429 || response.status == 503) {
    if (const auto after = response.header("Retry-After")) {
      require(!after->empty() && after->find_first_not_of("0123456789") == std::string_view::npos,
              "Retry-After is seconds");
    }
  }
  if (response.stream) {
    require(response.status == 200 && response.header("Content-Type") == "text/event-stream",
            "an event stream is a 200 of text/event-stream");
  }
  if (response.header("Content-Type") != "application/json") return std::nullopt;
  const std::string_view body = response.body_view();
  require(json::accept(body), "a JSON body parses");
  json document = json::parse(body);
  require(document.is_object(), "a JSON body is an object");
  if (response.status >= 400) {
    require(document.contains("error") && document["error"].is_string() && document.contains("detail") &&
                document["detail"].is_string(),
            "an error says {\"error\": code, \"detail\": why}");
  }
  return document;
}

Response send(Api& api, Request request) {
  auto response = api.handler->handle(request);
  check_response(response);
  return response;
}

Request make(Method method, std::string target, std::string remote_addr = "192.0.2.1") {
  Request request = Request::make(method, std::move(target));
  request.remote_addr = std::move(remote_addr);
  return request;
}

bool whole_list_has(Api& api, const std::string& id) {
  const auto response = send(api, make(Method::kGet, "/heartbeat"));
  require(response.status == 200, "the whole list is a 200");
  const auto document = json::parse(response.body_view());
  const auto& clients = document["clients"];
  require(clients.is_array() && document["total"] == clients.size(), "the whole list holds every client");
  require(document["online"].get<std::size_t>() + document["offline"].get<std::size_t>() == clients.size(),
          "online and offline add up to the total");
  bool found = false;
  std::string previous;
  for (const auto& client : clients) {
    const auto client_id = client["id"].get<std::string>();
    require(previous.empty() || previous < client_id, "the list is sorted by id, without duplicates");
    previous = client_id;
    found = found || client_id == id;
  }
  return found;
}

// After a request that changed the registry, the next requests see the change at once.
void check_consequences(Api& api, const Request& request, const Response& response,
                        const std::optional<json>& document) {
  const bool beat = request.method == Method::kPost || request.method == Method::kPut;
  if (beat && (response.status == 200 || response.status == 201)) {
    require(document && (*document)["id"].is_string(), "a beat answers with its id");
    const std::string id = (*document)["id"];
    // The client's own URL, whichever path created it (a signal such as /start, an escaped id).
    if (response.status == 201) {
      require(response.header("Location") == "/heartbeat/" + id, "a new client has its Location");
    }
    const auto shown = send(api, make(Method::kGet, "/heartbeat/" + id));
    require(shown.status == 200 && json::parse(shown.body_view())["id"] == id, "a client that beat is found");
    require(whole_list_has(api, id), "a client that beat is in the list");
  }
  if (request.method == Method::kDelete && response.status == 204) {
    const std::string id = request.path.substr(std::string_view("/heartbeat/").size());
    const auto decoded = pulse::http::percent_decode(id, false);
    require(decoded.has_value(), "a deleted id decodes");
    require(send(api, make(Method::kGet, request.path)).status == 404, "a client that signed off is gone");
    require(!whole_list_has(api, *decoded), "a client that signed off is not in the list");
  }
  if (request.method == Method::kGet && response.status == 200 && !response.stream) {
    if (const auto etag = response.header("ETag")) {
      api.last_etag = std::string(*etag);
      Request again = request;
      std::erase_if(again.headers, [](const auto& h) { return pulse::http::iequals(h.name, "If-None-Match"); });
      again.headers.push_back({"If-None-Match", api.last_etag});
      require(send(api, again).status == 304, "the list's own ETag answers 304 while nothing changes");
    }
  }
}

// Reads what each open stream was sent: "retry:", ": comment", and id/event/data events whose
// data is JSON and whose ids only grow.
void check_streams(Api& api) {
  for (std::size_t i = 0; i < api.streams.size(); ++i) {
    std::string_view text;
    const std::string pending = api.streams[i]->take().text();
    text = pending;
    while (!text.empty()) {
      const auto end = text.find("\n\n");
      require(end != std::string_view::npos, "an SSE event ends with an empty line");
      std::string_view event = text.substr(0, end + 1);
      text.remove_prefix(end + 2);
      while (!event.empty()) {
        const auto newline = event.find('\n');
        const auto line = event.substr(0, newline);
        event.remove_prefix(newline + 1);
        if (line.starts_with(":") || line.starts_with("retry: ") || line.starts_with("event: ")) continue;
        if (line.starts_with("id: ")) {
          const auto id = pulse::base::parse_decimal<std::uint64_t>(line.substr(4));
          require(id.has_value(), "an SSE id is a number");
          require(!api.last_ids[i] || *id > *api.last_ids[i], "SSE ids increase strictly");
          api.last_ids[i] = *id;
        } else {
          require(line.starts_with("data: "), "an SSE line is id, event, data, retry or a comment");
          require(json::accept(line.substr(6)), "SSE data is JSON");
        }
      }
    }
  }
}

void run_line(Api& api, std::string_view line) {
  if (line.size() < 3) return;
  const Method method = method_of(line[0]);
  const bool second_address = std::islower(static_cast<unsigned char>(line[0])) != 0;
  const char header = line[1];
  const char time = line[2];
  line.remove_prefix(3);
  const auto space = line.find(' ');
  std::string target(line.substr(0, space));
  const std::string extra = space == std::string_view::npos ? std::string{} : std::string(line.substr(space + 1));
  if (target.empty() || target.front() != '/') target = "/heartbeat/" + target;

  constexpr std::chrono::seconds kSteps[] = {1s, 10s, 60s, 1h, 48h};
  if (time >= '1' && time <= '5') api.clock->advance(kSteps[time - '1']);
  if ((time >= '1' && time <= '5') || time == 's') api.service.sweep();

  Request request = make(method, target, second_address ? "198.51.100.7" : "192.0.2.1");
  if (method == Method::kOther) request.method_name = "BREW";
  bool body = true;
  switch (header) {
    case 'f': request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"}); break;
    case 'F': request.headers.push_back({"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}); break;
    case 'j': request.headers.push_back({"Content-Type", "application/json"}); break;
    case 't': request.headers.push_back({"Content-Type", "text/plain"}); break;
    case 'i':
      request.headers.push_back({"If-None-Match", extra});
      body = false;
      break;
    case 'I': request.headers.push_back({"If-None-Match", api.last_etag}); break;
    case 'e':
      request.headers.push_back({"Last-Event-ID", extra});
      body = false;
      break;
    default: break;
  }
  if (body) request.body = extra;

  Response response = api.handler->handle(request);
  const auto document = check_response(response);
  if (response.stream && method == Method::kGet) {
    api.streams.push_back(response.stream);
    api.last_ids.emplace_back();
  }
  check_consequences(api, request, response, document);
  check_streams(api);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Api api;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::size_t n = 0; n < kMaxRequests && !input.empty(); ++n) {
    const auto newline = input.find('\n');
    run_line(api, input.substr(0, newline));
    input = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  }
  api.service.sweep();
  check_streams(api);
  api.service.stop();
  return 0;
}
