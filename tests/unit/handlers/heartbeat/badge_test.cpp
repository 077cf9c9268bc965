// Badges: the SVG (every state's colour and words, escaping, widths), the group's "3/4 up" and its
// worst state, and the requests through the API with a ManualClock (404 unknown, ETag and 304,
// HEAD, 405, bad label= and prefix=).
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/badge.hpp"
#include "pulse/handlers/heartbeat/service.hpp"

using namespace std::chrono_literals;
using pulse::handlers::heartbeat::Badge;
using pulse::handlers::heartbeat::badge_colour;
using pulse::handlers::heartbeat::badge_text_width;
using pulse::handlers::heartbeat::client_badge;
using pulse::handlers::heartbeat::group_badge;
using pulse::handlers::heartbeat::HeartbeatService;
using pulse::handlers::heartbeat::render_badge_svg;
using pulse::handlers::heartbeat::worst_state;
using pulse::http::Header;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;
using pulse::presence::ClientState;
using pulse::presence::ManualClock;
using pulse::presence::StateCounts;

namespace {

StateCounts counts_of(std::size_t up, std::size_t late, std::size_t down, std::size_t failing, std::size_t paused) {
  StateCounts counts;
  counts.by_state = {up, late, down, failing, paused};
  return counts;
}

// The fill of the badge's right half (the second <rect> with a fill).
std::string message_fill(const std::string& svg) {
  static const std::regex fill(R"re(<rect x="\d+" width="\d+" height="20" fill="(#[0-9a-f]{6})"/>)re");
  std::smatch match;
  return std::regex_search(svg, match, fill) ? match[1].str() : std::string();
}

int svg_width(const std::string& svg) {
  static const std::regex width(R"re(<svg [^>]*width="(\d+)")re");
  std::smatch match;
  return std::regex_search(svg, match, width) ? std::stoi(match[1].str()) : -1;
}

struct Api {
  Api() : service({}, clock), handler(service.api_handler()) {}

  Response send(Method method, std::string target, std::vector<Header> headers = {}) {
    Request request = Request::make(method, std::move(target));
    request.remote_addr = "192.0.2.1";
    for (auto& header : headers) request.headers.push_back(std::move(header));
    return handler->handle(request);
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  HeartbeatService service;
  std::shared_ptr<pulse::http::Handler> handler;
};

}  // namespace

TEST_CASE("each state has its own colour and words", "[handlers][heartbeat][badge]") {
  const std::vector<std::pair<ClientState, std::string>> states{{ClientState::kUp, "up"},
                                                                {ClientState::kLate, "late"},
                                                                {ClientState::kDown, "down"},
                                                                {ClientState::kFailing, "failing"},
                                                                {ClientState::kPaused, "paused"}};
  std::vector<std::string> colours;
  for (const auto& [state, name] : states) {
    INFO(name);
    const Badge badge = client_badge("web-1", state);
    CHECK(badge.message == name);
    const std::string svg = render_badge_svg(badge);
    CHECK(message_fill(svg) == badge_colour(state));
    CHECK(svg.find(">" + name + "</text>") != std::string::npos);
    CHECK(svg.find("aria-label=\"web-1: " + name + "\"") != std::string::npos);
    CHECK(svg.find("<title>web-1: " + name + "</title>") != std::string::npos);
    colours.emplace_back(badge_colour(state));
  }
  colours.emplace_back(badge_colour(std::nullopt));
  std::sort(colours.begin(), colours.end());
  CHECK(std::adjacent_find(colours.begin(), colours.end()) == colours.end());  // six different colours

  const Badge unknown = client_badge("gone-1", std::nullopt);
  CHECK(unknown.message == "unknown");
  CHECK(message_fill(render_badge_svg(unknown)) == badge_colour(std::nullopt));
}

TEST_CASE("badge text is escaped: no markup gets into the SVG", "[handlers][heartbeat][badge]") {
  const std::string svg = render_badge_svg({"<script>alert(1)</script> & \"'", "a<b", ClientState::kUp});
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;&#39;") != std::string::npos);
  CHECK(svg.find("a&lt;b") != std::string::npos);
  // Every element the renderer writes, and nothing else.
  static const std::regex tag(R"(<(/?)([a-zA-Z]+))");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2].str();
    INFO(name);
    CHECK((name == "svg" || name == "title" || name == "clipPath" || name == "rect" || name == "g" || name == "text"));
  }
}

TEST_CASE("widths follow the text, so long ids get wide badges", "[handlers][heartbeat][badge]") {
  CHECK(badge_text_width("") == 0);
  CHECK(badge_text_width("i") < badge_text_width("m"));
  CHECK(badge_text_width("web-01") < badge_text_width("web-01-eu-west-production"));
  CHECK(badge_text_width("é") == badge_text_width("ü"));  // one character, two bytes: counted once
  CHECK(badge_text_width("é") < 2 * badge_text_width("a"));
  const int short_badge = svg_width(render_badge_svg(client_badge("a", ClientState::kUp)));
  const int long_badge = svg_width(render_badge_svg(client_badge("a-much-longer-client-id", ClientState::kUp)));
  CHECK(short_badge > 0);
  CHECK(long_badge > short_badge + 100);
}

TEST_CASE("a group says how many are up and takes the colour of its worst state", "[handlers][heartbeat][badge]") {
  CHECK(worst_state(counts_of(0, 0, 0, 0, 0)) == std::nullopt);
  CHECK(worst_state(counts_of(5, 0, 0, 0, 0)) == ClientState::kUp);
  CHECK(worst_state(counts_of(5, 0, 0, 0, 1)) == ClientState::kPaused);
  CHECK(worst_state(counts_of(5, 1, 0, 0, 1)) == ClientState::kLate);
  CHECK(worst_state(counts_of(5, 1, 0, 1, 1)) == ClientState::kFailing);
  CHECK(worst_state(counts_of(5, 1, 1, 1, 1)) == ClientState::kDown);

  const Badge three_of_four = group_badge("web", counts_of(3, 1, 0, 0, 0));
  CHECK(three_of_four.label == "web");
  CHECK(three_of_four.message == "3/4 up");
  CHECK(three_of_four.tone == ClientState::kLate);
  CHECK(message_fill(render_badge_svg(three_of_four)) == badge_colour(ClientState::kLate));

  const Badge none = group_badge("web", counts_of(0, 0, 0, 0, 0));
  CHECK(none.message == "no clients");
  CHECK(none.tone == std::nullopt);
}

TEST_CASE("GET /heartbeat/{id}/badge.svg: the client's state, cacheable", "[handlers][heartbeat][badge]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/web-1?interval=10&grace=10").status == 201);

  const auto up = api.send(Method::kGet, "/heartbeat/web-1/badge.svg");
  REQUIRE(up.status == 200);
  CHECK(up.header("Content-Type") == "image/svg+xml");
  CHECK(up.header("Cache-Control") == "max-age=10");
  CHECK(up.header("X-Content-Type-Options") == "nosniff");
  const std::string svg(up.body_view());
  CHECK(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(svg.find("aria-label=\"web-1: up\"") != std::string::npos);
  const std::string etag(up.header("ETag").value_or(""));
  REQUIRE(etag.size() > 2);
  CHECK(etag.front() == '"');

  // Another beat changes last_beat and beats, not the badge: same tag, 304.
  api.clock->advance(1s);
  REQUIRE(api.send(Method::kPost, "/heartbeat/web-1?interval=10&grace=10").status == 200);
  const auto cached = api.send(Method::kGet, "/heartbeat/web-1/badge.svg", {{"If-None-Match", etag}});
  CHECK(cached.status == 304);
  CHECK(cached.body_view().empty());
  CHECK(cached.header("ETag") == etag);
  CHECK(cached.header("Cache-Control") == "max-age=10");
  CHECK(api.send(Method::kGet, "/heartbeat/web-1/badge.svg", {{"If-None-Match", "*"}}).status == 304);
  CHECK(api.send(Method::kGet, "/heartbeat/web-1/badge.svg", {{"If-None-Match", "\"other\""}}).status == 200);

  // Time makes it late, then down: a new badge, a new tag each time.
  api.clock->advance(11s);
  api.service.sweep();
  const auto late = api.send(Method::kGet, "/heartbeat/web-1/badge.svg", {{"If-None-Match", etag}});
  REQUIRE(late.status == 200);
  CHECK(std::string(late.body_view()).find("web-1: late") != std::string::npos);
  CHECK(late.header("ETag") != etag);
  api.clock->advance(10s);
  api.service.sweep();
  const auto down = api.send(Method::kGet, "/heartbeat/web-1/badge.svg");
  CHECK(std::string(down.body_view()).find("web-1: down") != std::string::npos);
  CHECK(down.header("ETag") != late.header("ETag"));

  REQUIRE(api.send(Method::kPost, "/heartbeat/web-1?interval=10&grace=10&status=fail").status == 200);
  const auto failing = api.send(Method::kGet, "/heartbeat/web-1/badge.svg");
  CHECK(std::string(failing.body_view()).find("web-1: failing") != std::string::npos);
  CHECK(message_fill(std::string(failing.body_view())) == badge_colour(ClientState::kFailing));

  const auto head = api.send(Method::kHead, "/heartbeat/web-1/badge.svg");
  CHECK(head.status == 200);
  CHECK(head.header("ETag") == failing.header("ETag"));

  const auto labelled = api.send(Method::kGet, "/heartbeat/web-1/badge.svg?label=front%20end");
  CHECK(std::string(labelled.body_view()).find("front end: failing") != std::string::npos);
}

TEST_CASE("an unknown id is a grey 'unknown' badge with 404", "[handlers][heartbeat][badge]") {
  Api api;
  const auto unknown = api.send(Method::kGet, "/heartbeat/nobody/badge.svg");
  CHECK(unknown.status == 404);
  CHECK(unknown.header("Content-Type") == "image/svg+xml");
  CHECK(unknown.header("ETag") == std::nullopt);
  const std::string svg(unknown.body_view());
  CHECK(svg.find("nobody: unknown") != std::string::npos);
  CHECK(message_fill(svg) == badge_colour(std::nullopt));
}

TEST_CASE("GET /heartbeat/badge.svg?prefix=: a group's badge", "[handlers][heartbeat][badge]") {
  Api api;
  for (const char* id : {"web-1", "web-2", "web-3"}) {
    REQUIRE(api.send(Method::kPost, std::string("/heartbeat/") + id + "?interval=60").status == 201);
  }
  REQUIRE(api.send(Method::kPost, "/heartbeat/web-4?interval=60&status=fail").status == 201);
  REQUIRE(api.send(Method::kPost, "/heartbeat/db-1?interval=10&grace=10").status == 201);
  api.clock->advance(25s);
  api.service.sweep();  // db-1 is down

  const auto web = api.send(Method::kGet, "/heartbeat/badge.svg?prefix=web-");
  REQUIRE(web.status == 200);
  const std::string web_svg(web.body_view());
  CHECK(web_svg.find("web: 3/4 up") != std::string::npos);
  CHECK(message_fill(web_svg) == badge_colour(ClientState::kFailing));

  const auto all = api.send(Method::kGet, "/heartbeat/badge.svg");
  const std::string all_svg(all.body_view());
  CHECK(all_svg.find("clients: 3/5 up") != std::string::npos);
  CHECK(message_fill(all_svg) == badge_colour(ClientState::kDown));

  const auto etag = std::string(web.header("ETag").value_or(""));
  CHECK(api.send(Method::kGet, "/heartbeat/badge.svg?prefix=web-", {{"If-None-Match", etag}}).status == 304);
  REQUIRE(api.send(Method::kPost, "/heartbeat/web-4?status=ok").status == 200);
  const auto recovered = api.send(Method::kGet, "/heartbeat/badge.svg?prefix=web-", {{"If-None-Match", etag}});
  REQUIRE(recovered.status == 200);
  CHECK(std::string(recovered.body_view()).find("web: 4/4 up") != std::string::npos);

  const auto empty = api.send(Method::kGet, "/heartbeat/badge.svg?prefix=nothing-");
  CHECK(empty.status == 200);
  CHECK(std::string(empty.body_view()).find("nothing: no clients") != std::string::npos);
}

TEST_CASE("badge requests that are refused", "[handlers][heartbeat][badge]") {
  Api api;
  REQUIRE(api.send(Method::kPost, "/heartbeat/web-1").status == 201);
  const auto post = api.send(Method::kPost, "/heartbeat/web-1/badge.svg");
  CHECK(post.status == 405);
  CHECK(post.header("Allow") == "GET, HEAD");
  CHECK(api.send(Method::kDelete, "/heartbeat/badge.svg").status == 405);
  CHECK(api.send(Method::kGet, "/heartbeat/bad%20id/badge.svg").status == 400);
  // Not a badge of any id: refused (400 for the '/' in an id, or 404 for no such route, as the
  // router splits the path), never an image.
  const auto nested = api.send(Method::kGet, "/heartbeat/a/b/badge.svg");
  CHECK((nested.status == 400 || nested.status == 404));
  CHECK(nested.header("Content-Type") != "image/svg+xml");
  CHECK(api.send(Method::kGet, "/heartbeat/web-1/badge.svg?label=%01").status == 400);
  CHECK(api.send(Method::kGet, "/heartbeat/web-1/badge.svg?label=%FF").status == 400);
  CHECK(api.send(Method::kGet, "/heartbeat/badge.svg?prefix=" + std::string(65, 'a')).status == 400);
  // badge.svg is not an id, and the client is untouched by all of the above.
  CHECK(api.send(Method::kGet, "/heartbeat/badge.svg").header("Content-Type") == "image/svg+xml");
  CHECK(api.send(Method::kGet, "/heartbeat/web-1").status == 200);
}
