// HeartbeatApi: routes /heartbeat requests by path and method, validates every parameter with a
// reason a person can act on, and turns store outcomes into status codes.
#include "pulse/handlers/heartbeat/api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <utility>
#include <vector>

#include "pulse/base/parse.hpp"
#include "pulse/base/task_pool.hpp"
#include "pulse/handlers/heartbeat/hold.hpp"
#include "pulse/handlers/heartbeat/badge.hpp"
#include "pulse/handlers/heartbeat/json.hpp"
#include "pulse/handlers/heartbeat/json_writer.hpp"
#include "pulse/handlers/heartbeat/request_parsing.hpp"
#include "pulse/http/deferred_response.hpp"
#include "pulse/http/conditional.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::handlers::heartbeat {
namespace {

using http::Method;
using http::Request;
using http::Response;

constexpr std::string_view kLogContentType = "text/plain; charset=utf-8";
constexpr std::string_view kFormType = "application/x-www-form-urlencoded";
// Parameters a beat understands, in the query string or an HTML-form body.
constexpr std::array<std::string_view, 5> kBeatParameters{"interval", "grace", "status", "msg", "rid"};
// Digits a number may have, leading zeros included: longer text is refused whatever its value.
// 30 days is 2,592,000 s.
constexpr std::size_t kMaxSecondsDigits = 10;
constexpr std::size_t kMaxEventIdDigits = 19;

bool is_get_or_head(const Request& request) {
  return request.method == Method::kGet || request.method == Method::kHead;
}

Response method_not_allowed(const Request& request, std::string_view allow, std::string_view note = {}) {
  auto response = json_error(405, "method_not_allowed",
                             fmt::format("{} is not allowed here; use {}{}", request.method_name, allow, note));
  response.set_header("Allow", std::string(allow));
  return response;
}

// Digits only, and at most `max_digits` of them.
std::optional<std::uint64_t> parse_digits(std::string_view text, std::size_t max_digits) {
  if (text.size() > max_digits) return std::nullopt;
  return base::parse_decimal<std::uint64_t>(text);
}

// "up,late", "online", "offline": nullopt on anything else.
std::optional<std::bitset<presence::kClientStateCount>> parse_state_filter(std::string_view text) {
  std::bitset<presence::kClientStateCount> states;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view name = http::trim_ows(text.substr(0, comma));
    if (name == "online") {
      for (const auto state : presence::kAllClientStates) {
        if (presence::is_online(state)) states.set(presence::index_of(state));
      }
    } else if (name == "offline") {
      states.set(presence::index_of(presence::ClientState::kDown));
    } else if (const auto state = presence::client_state_from_string(name)) {
      states.set(presence::index_of(*state));
    } else {
      return std::nullopt;
    }
    if (comma == std::string_view::npos) return states;
    text.remove_prefix(comma + 1);
  }
}

using FormFields = std::vector<std::pair<std::string, std::string>>;

// `curl -d status=fail -d msg=disk+full` sends the beat's parameters as an HTML form. A body
// that is not such a form (`curl --data-binary @backup.log`) is the client's log, so this only
// accepts bodies made entirely of known parameters.
std::optional<FormFields> parse_beat_form(const Request& request) {
  const auto type = request.header("Content-Type");
  if (!type || type->size() < kFormType.size() || !http::iequals(type->substr(0, kFormType.size()), kFormType)) {
    return std::nullopt;
  }
  FormFields fields;
  bool is_form = true;
  http::for_each_form_pair(request.body, [&](const http::FormPair& pair) {
    auto name = http::percent_decode(pair.name, true);
    auto value = http::percent_decode(pair.value, true);
    is_form = pair.has_value && name && value &&
              std::find(kBeatParameters.begin(), kBeatParameters.end(), *name) != kBeatParameters.end();
    if (is_form) fields.emplace_back(std::move(*name), std::move(*value));
    return is_form;
  });
  if (!is_form || fields.empty()) return std::nullopt;
  return fields;
}

Response unknown_client() {
  return json_error(404, "not_found", "no client with this id: it never beat, signed off, or was forgotten");
}

}  // namespace

HeartbeatApi::HeartbeatApi(presence::PresenceStore& store, EventStreams& streams, std::function<void()> on_change,
                           base::TaskPool* store_calls, RequestMetrics* metrics, HoldRegistry* holds)
    : store_(store),
      streams_(streams),
      on_change_(std::move(on_change)),
      store_calls_(store_calls),
      metrics_(metrics),
      holds_(holds),
      etag_epoch_(fmt::format(
          "{:x}", std::chrono::duration_cast<std::chrono::microseconds>(store_.now().time_since_epoch()).count())) {}

std::string HeartbeatApi::list_etag(std::uint64_t version) const {
  return fmt::format("W/\"{}-{:x}\"", etag_epoch_, version);
}

bool HeartbeatApi::renders_large_document(const Request& request) const {
  if (!is_get_or_head(request)) return false;
  const ParsedTarget parsed = parse_target(request.path);
  if (!parsed.error.empty() || (parsed.target != Target::kList && parsed.target != Target::kEvents)) return false;
  return store_.counters().clients.total() > kInlineRenderClients;
}

Response HeartbeatApi::handle(const Request& request) {
  // A store in this process answers at once; one across the network is asked on a store thread,
  // and the connection waits for the answer without holding up its worker's loop. So does a
  // list or a snapshot of many clients (100 ms of rendering at 100,000), on the render thread:
  // the other connections of this worker are not held up meanwhile.
  base::TaskPool* pool = store_calls_;
  if (pool == nullptr && render_calls_ != nullptr && renders_large_document(request)) pool = render_calls_;
  if (pool == nullptr) return handle_guarded(request);
  auto deferred = std::make_shared<http::DeferredResponse>();
  const bool queued =
      pool->try_submit([this, copy = request, deferred] { deferred->complete(handle_guarded(copy)); });
  if (!queued) {
    return with_retry_after(
        json_error(503, "store_busy", "too many heartbeat requests are waiting for the presence store; try again"),
        kStoreUnavailableRetryAfter);
  }
  Response response;
  response.deferred = std::move(deferred);
  return response;
}

Response HeartbeatApi::handle_guarded(const Request& request) {
  try {
    return route(request);
  } catch (const presence::StoreUnavailable& error) {
    // Nothing was recorded: the client's next try (curl --retry honours Retry-After) counts.
    return with_retry_after(
        json_error(503, "store_unavailable", fmt::format("the presence store cannot be reached: {}", error.what())),
        kStoreUnavailableRetryAfter);
  }
}

Response HeartbeatApi::route(const Request& request) {
  // A parameter that cannot be decoded must not silently fall back to its default.
  if (!request.query_is_well_formed()) {
    return json_error(400, "invalid_query", "the query string contains a malformed %-escape");
  }
  ParsedTarget parsed = parse_target(request.path);
  if (parsed.error_status != 0) return json_error(parsed.error_status, parsed.error, parsed.detail);
  switch (parsed.target) {
    case Target::kList:
      if (!is_get_or_head(request)) return method_not_allowed(request, "GET, HEAD");
      return handle_list(request);
    case Target::kEvents:
      if (!is_get_or_head(request)) {
        return method_not_allowed(request, "GET, HEAD", " (/heartbeat/events is the event stream, not a client id)");
      }
      return handle_events(request);
    case Target::kAllBadge: return handle_badge(store_, request, std::nullopt);
    default: break;
  }
  if (auto error = presence::client_id_error(parsed.id)) return json_error(400, "invalid_id", *error);

  switch (parsed.target) {
    case Target::kClient:
      switch (request.method) {
        case Method::kPost:
        case Method::kPut: return handle_beat(request, std::move(parsed.id), presence::Signal::kBeat);
        case Method::kGet:
        case Method::kHead: return handle_show(parsed.id);
        case Method::kDelete: return handle_remove(parsed.id);
        default: return method_not_allowed(request, "GET, HEAD, POST, PUT, DELETE");
      }
    case Target::kHistory:
    case Target::kLog:
      if (!is_get_or_head(request)) return method_not_allowed(request, "GET, HEAD");
      return parsed.target == Target::kHistory ? handle_history(parsed.id) : handle_log(parsed.id);
    case Target::kHold:
      if (holds_ == nullptr) return json_error(404, "not_found", "hold connections are not served here");
      if (!is_get_or_head(request)) {
        return method_not_allowed(request, "GET, HEAD", " (a hold is a GET that stays open)");
      }
      return holds_->open(request, parsed.id);
    case Target::kBadge: return handle_badge(store_, request, parsed.id);
    default: break;
  }

  // The job signals: each is a request like a beat, with the same parameters.
  if (request.method != Method::kPost && request.method != Method::kPut) {
    return method_not_allowed(request, "POST, PUT");
  }
  switch (parsed.target) {
    case Target::kStart: return handle_beat(request, std::move(parsed.id), presence::Signal::kStart);
    case Target::kFail: return handle_beat(request, std::move(parsed.id), presence::Signal::kFail);
    case Target::kOk: return handle_beat(request, std::move(parsed.id), presence::Signal::kBeat, presence::Health::kOk);
    case Target::kPause: return handle_beat(request, std::move(parsed.id), presence::Signal::kPause);
    case Target::kExit:
      return handle_beat(request, std::move(parsed.id), presence::Signal::kExit, std::nullopt, parsed.exit_code);
    default: return json_error(404, "not_found", "not a heartbeat path");
  }
}

Response HeartbeatApi::handle_beat(const Request& request, std::string id, presence::Signal signal,
                                   std::optional<presence::Health> health, std::optional<std::uint8_t> exit_code) {
  const auto form = parse_beat_form(request);
  // The query string first, then the form body.
  auto parameter = [&](std::string_view name) -> std::optional<std::string> {
    if (auto value = request.query_param(name)) return value;
    if (form) {
      for (const auto& [field, value] : *form) {
        if (field == name) return value;
      }
    }
    return std::nullopt;
  };

  presence::BeatRequest beat;
  beat.id = std::move(id);
  beat.signal = signal;
  beat.remote_addr = request.remote_addr;
  beat.health = health;
  beat.exit_code = exit_code;
  // Settings are sticky: only what the request says is passed on, the store keeps the rest.
  if (const auto text = parameter("interval")) {
    beat.interval = parse_seconds(*text, presence::kMinInterval, presence::kMaxInterval);
    if (!beat.interval) return invalid_seconds("interval", presence::kMinInterval, presence::kMaxInterval);
  }
  if (const auto text = parameter("grace")) {
    beat.grace = parse_seconds(*text, presence::kMinGrace, presence::kMaxGrace);
    if (!beat.grace) return invalid_seconds("grace", presence::kMinGrace, presence::kMaxGrace);
  }
  if (const auto text = parameter("status")) {
    // /ok, /fail and an exit status say the health themselves; a second opinion is a mistake.
    if (signal != presence::Signal::kBeat || health) {
      return json_error(400, "invalid_status",
                        "status= belongs to a plain beat (POST /heartbeat/{id}); this path says the outcome itself");
    }
    const auto parsed = presence::health_from_string(*text);
    if (!parsed) return json_error(400, "invalid_status", "status must be ok or fail");
    beat.health = *parsed;
  }
  if (auto text = parameter("rid"); text && !text->empty()) {
    if (auto error = run_id_error(*text)) return json_error(400, "invalid_rid", *error);
    beat.run_id = std::move(*text);
  }
  const bool has_log = !form && !request.body.empty();
  if (auto text = parameter("msg")) {
    beat.message = std::move(*text);
    if (auto error = presence::message_error(beat.message)) return json_error(400, "invalid_msg", *error);
  } else if (has_log) {
    // No msg=: the body's first line is the summary (`echo "backup done" | curl --data-binary @-`).
    beat.message = message_from_body(request.body);
  }
  if (has_log) beat.log = log_from_body(request.body);

  const presence::BeatResult result = store_.beat(beat);
  if (metrics_ != nullptr) metrics_->on_result(signal, result);
  if (auto refusal = store_refusal(result, "beat",
                                   signal == presence::Signal::kPause
                                       ? "no client with this id: only a known client can be paused"
                                       : "no client with this id")) {
    return std::move(*refusal);
  }
  if ((result.changed() || result.event) && on_change_) on_change_();

  if (result.event && alerts_ != nullptr) alerts_->on_event(*result.event);
  const bool created = result.outcome == presence::BeatOutcome::kCreated;
  std::string body;
  append_beat_result_json(body, result, store_.now());
  body += '\n';
  auto response = http::Response::text(created ? 201 : 200, std::move(body), "application/json");
  if (created) response.set_header("Location", fmt::format("/heartbeat/{}", result.client.id));
  response.set_header("Cache-Control", "no-store");
  return response;
}

Response HeartbeatApi::handle_list(const Request& request) const {
  presence::ListFilter filter;
  if (const auto text = request.query_param("state")) {
    const auto states = parse_state_filter(*text);
    if (!states) {
      return json_error(400, "invalid_state",
                        "state must be up, late, down, failing, paused, online or offline (several: state=up,late)");
    }
    filter.states = *states;
  }
  if (auto prefix = request.query_param("prefix")) filter.prefix = std::move(*prefix);
  std::optional<std::size_t> limit;
  if (const auto text = request.query_param("limit")) {
    const auto value = parse_digits(*text, kMaxSecondsDigits);
    if (!value || *value == 0 || *value > kMaxPageSize) {
      return json_error(400, "invalid_limit", fmt::format("limit must be a whole number from 1 to {}", kMaxPageSize));
    }
    limit = static_cast<std::size_t>(*value);
  }
  const std::optional<std::string> after = request.query_param("after");
  const bool whole = !limit && !after && filter.prefix.empty() && filter.states.all();

  // Answering 304 needs only the version, not the list.
  const auto if_none_match = request.header("If-None-Match");
  if (if_none_match) {
    const std::string etag = list_etag(store_.version());
    http::ConditionalHeaders conditions;
    conditions.if_none_match = if_none_match;
    http::Validators validators;
    validators.etag = etag.substr(2);  // the opaque tag, without "W/": If-None-Match compares weakly
    if (http::evaluate_preconditions(conditions, validators) == http::Precondition::kNotModified) {
      Response response;
      response.status = 304;
      response.set_header("ETag", etag);
      response.set_header("Cache-Control", "no-cache");
      return response;
    }
  }

  if (whole) {
    const auto rendered = whole_list();
    Response response;
    response.status = 200;
    response.set_header("Content-Type", "application/json");
    response.shared_body = http::SharedBody{rendered->body, 0, rendered->body->size()};
    response.set_header("ETag", list_etag(rendered->version));
    response.set_header("Cache-Control", "no-cache");
    return response;
  }

  presence::Listing listing = store_.list(filter);
  auto& clients = listing.clients;  // sorted by id
  if (after) {
    clients.erase(clients.begin(), std::upper_bound(clients.begin(), clients.end(), *after,
                                                    [](const std::string& id, const presence::ClientView& client) {
                                                      return id < client.id;
                                                    }));
  }
  std::optional<std::string> next_after;
  if (limit && clients.size() > *limit) {
    clients.resize(*limit);
    next_after = clients.back().id;
  }
  std::string body;
  append_listing_json(body, listing, store_.now());
  // The cursor for the next page: pass it as after=; null on the last page.
  if (limit || after) {
    body.pop_back();  // the document's closing brace
    body += ",\"next_after\":";
    if (next_after) {
      append_json_string(body, *next_after);
    } else {
      body += "null";
    }
    body += '}';
  }
  body += '\n';
  auto response = http::Response::text(200, std::move(body), "application/json");
  response.set_header("ETag", list_etag(listing.version));
  response.set_header("Cache-Control", "no-cache");
  return response;
}

std::shared_ptr<const HeartbeatApi::RenderedList> HeartbeatApi::whole_list() const {
  // Read before waiting: a render that starts after this instant includes every change this
  // request could know of (a beat it just made), so it may share that render.
  const std::uint64_t wanted = store_.version();
  std::lock_guard lock(list_mutex_);
  const auto now = store_.now();
  // With clients beating all the time the version moves on every millisecond; requests that
  // waited for a render share the next one instead of each rendering their own.
  if (list_cache_ && list_cache_->version >= wanted && now - list_cache_->rendered_at < kListMaxAge) {
    return list_cache_;
  }
  // The clients are copied under the store's locks; the JSON is written outside them.
  const presence::Listing listing = store_.list({});
  auto body = std::make_shared<std::string>();
  append_listing_json(*body, listing, store_.now());
  *body += '\n';
  list_cache_ = std::make_shared<const RenderedList>(RenderedList{listing.version, now, std::move(body)});
  return list_cache_;
}

Response HeartbeatApi::handle_show(const std::string& id) const {
  const auto detail = store_.detail(id);
  if (!detail) return unknown_client();
  auto response = json_response(200, detail_json(*detail, store_.now()));
  response.set_header("Cache-Control", "no-cache");
  return response;
}

Response HeartbeatApi::handle_history(const std::string& id) const {
  const auto detail = store_.detail(id);
  if (!detail) return unknown_client();
  auto response = json_response(200, history_json(*detail, store_.now()));
  response.set_header("Cache-Control", "no-cache");
  return response;
}

Response HeartbeatApi::handle_log(const std::string& id) const {
  const auto detail = store_.detail(id);
  if (!detail) return unknown_client();
  Response response;
  if (detail->log.empty()) {
    response.status = 204;  // known, but no beat of it had a body yet
  } else {
    response = Response::text(200, detail->log, std::string(kLogContentType));
  }
  response.set_header("Cache-Control", "no-cache");
  // The log is bytes a client wrote, served from the live page's origin: no browser may sniff
  // them into HTML or a script, and opened on its own the answer may run and load nothing.
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Content-Security-Policy", "default-src 'none'");
  return response;
}

Response HeartbeatApi::handle_remove(const std::string& id) {
  // remove() returns no event: the alert is built from the client as it was just before.
  const auto leaving = alerts_ != nullptr && alerts_->wants_sign_offs() ? store_.find(id) : std::nullopt;
  if (!store_.remove(id)) return json_error(404, "not_found", "no client with this id");
  if (leaving) alerts_->on_event({.kind = presence::EventKind::kLeave, .client = *leaving});
  if (on_change_) on_change_();
  Response response;
  response.status = 204;
  return response;
}

Response HeartbeatApi::handle_events(const Request& request) {
  Response response;
  response.status = 200;
  response.set_header("Content-Type", "text/event-stream");
  response.set_header("Cache-Control", "no-cache");
  // Tells nginx-style proxies not to buffer the stream.
  response.set_header("X-Accel-Buffering", "no");
  if (request.method == Method::kHead) {
    // A stream-shaped response with no producer: the connection sends GET's headers (chunked,
    // no Content-Length) and releases it at once.
    response.stream = std::make_shared<http::ResponseStream>();
    return response;
  }

  std::optional<std::uint64_t> last_event_id;
  if (const auto header = request.header("Last-Event-ID"))
    last_event_id = parse_digits(http::trim_ows(*header), kMaxEventIdDigits);
  if (streams_.closed()) return json_error(503, "shutting_down", "the server is shutting down");
  auto opened = streams_.open(last_event_id, request.remote_addr);
  switch (opened.refusal) {
    case EventStreams::Refusal::kNone: break;
    case EventStreams::Refusal::kClosed: return json_error(503, "shutting_down", "the server is shutting down");
    case EventStreams::Refusal::kServerFull:
      return with_retry_after(json_error(503, "too_many_streams", "too many event streams are open"),
                              kStreamsBusyRetryAfter);
    case EventStreams::Refusal::kAddressFull:
      return with_retry_after(
          json_error(503, "too_many_streams_from_address", "too many event streams are open from this address"),
          kStreamsBusyRetryAfter);
  }
  response.stream = std::move(opened.stream);
  return response;
}

}  // namespace pulse::handlers::heartbeat
