// JSON documents of the heartbeat API: one function per document, fields in the order people read them.
#include "pulse/handlers/heartbeat/json.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/json_writer.hpp"
#include "pulse/presence/limits.hpp"

namespace pulse::handlers::heartbeat {
std::string dump_json(const Json& document) {
  return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string format_iso8601(presence::Time time) {
  using namespace std::chrono;
  const auto millis = floor<milliseconds>(time);
  const auto day = floor<days>(millis);
  const year_month_day date{day};
  const hh_mm_ss clock{millis - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

namespace {

Json optional_exit_code(const std::optional<std::uint8_t>& value) {
  return value ? Json(static_cast<unsigned>(*value)) : Json(nullptr);
}

}  // namespace

Json client_json(const presence::ClientView& client) {
  // One definition of a client's JSON: the writer's, which the big documents use directly.
  std::string text;
  append_client_json(text, client);
  return Json::parse(text);
}

Json history_entry_json(const presence::HistoryEntry& entry) {
  if (entry.kind == presence::HistoryKind::kChange) {
    return {
        {"at", format_iso8601(entry.at)},
        {"kind", presence::to_string(entry.kind)},
        {"from", entry.from ? Json(presence::to_string(*entry.from)) : Json(nullptr)},
        {"to", presence::to_string(entry.to)},
    };
  }
  return {
      {"at", format_iso8601(entry.at)},
      {"kind", presence::to_string(entry.kind)},
      {"result", presence::to_string(entry.result)},
      {"exit_code", optional_exit_code(entry.exit_code)},
      {"duration_ms", entry.duration.count()},
  };
}

Json history_list_json(const std::vector<presence::HistoryEntry>& history) {
  Json list = Json::array();
  for (const auto& entry : history) list.push_back(history_entry_json(entry));
  return list;
}

Json history_json(const presence::ClientDetail& detail, presence::Time server_time) {
  return {
      {"id", detail.client.id},
      {"server_time", format_iso8601(server_time)},
      {"history", history_list_json(detail.history)},
  };
}

Json detail_json(const presence::ClientDetail& detail, presence::Time server_time) {
  Json document = client_json(detail.client);
  document["server_time"] = format_iso8601(server_time);
  document["log"] = detail.log.empty() ? Json(nullptr) : Json(detail.log);
  document["history"] = history_list_json(detail.history);
  return document;
}

Json listing_json(const presence::Listing& listing, presence::Time server_time) {
  Json counts = Json::object();
  for (const presence::ClientState state : presence::kAllClientStates) {
    counts[std::string(presence::to_string(state))] = listing.counts[state];
  }
  Json clients = Json::array();
  for (const auto& client : listing.clients) clients.push_back(client_json(client));
  return {
      {"server_time", format_iso8601(server_time)},
      {"total", listing.counts.total()},
      {"online", listing.counts.online()},
      {"offline", listing.counts[presence::ClientState::kDown]},
      {"counts", std::move(counts)},
      {"clients", std::move(clients)},
  };
}

Json beat_json(const presence::ClientView& client, presence::Time server_time) {
  presence::BeatResult result;
  result.client = client;
  Json document = beat_result_json(result, server_time);
  document.erase("duration_ms");
  return document;
}

Json beat_result_json(const presence::BeatResult& result, presence::Time server_time) {
  // One definition: the writer's, which the API answers every beat with.
  std::string text;
  append_beat_result_json(text, result, server_time);
  return Json::parse(text);
}

Json event_json(const presence::PresenceEvent& event, presence::Time server_time) {
  if (event.kind == presence::EventKind::kLeave) {
    return {
        {"server_time", format_iso8601(server_time)},
        {"id", event.client.id},
        {"reason", presence::to_string(event.reason)},
    };
  }
  return {
      {"server_time", format_iso8601(server_time)},
      {"previous", event.previous ? Json(presence::to_string(*event.previous)) : Json(nullptr)},
      {"client", client_json(event.client)},
  };
}

Json beats_json(const std::vector<presence::ClientView>& clients, presence::Time server_time) {
  Json list = Json::array();
  for (const auto& client : clients) list.push_back(client_json(client));
  return {{"server_time", format_iso8601(server_time)}, {"clients", std::move(list)}};
}

http::Response json_response(int status, const Json& body) {
  return http::Response::text(status, dump_json(body) + "\n", "application/json");
}

http::Response with_retry_after(http::Response response, std::chrono::seconds after) {
  response.set_header("Retry-After", std::to_string(after.count()));
  return response;
}

std::optional<http::Response> store_refusal(const presence::BeatResult& result, std::string_view what,
                                            std::string_view not_found_detail) {
  switch (result.outcome) {
    case presence::BeatOutcome::kCreated:
    case presence::BeatOutcome::kUpdated: return std::nullopt;
    case presence::BeatOutcome::kRateLimited:
      return with_retry_after(json_error(429, "rate_limited",
                                         fmt::format("this id beats more than {} times a second; slow down",
                                                     presence::kDefaultMaxBeatsPerSecond)),
                              kRateLimitedRetryAfter);
    case presence::BeatOutcome::kFull:
      return with_retry_after(json_error(503, "registry_full",
                                         "the registry holds its maximum number of clients; known ids keep "
                                         "working, new ones must wait for a sign-off or an expiry"),
                              kRegistryFullRetryAfter);
    case presence::BeatOutcome::kInvalid:
      return json_error(400, "invalid_beat", fmt::format("the {} is out of bounds", what));
    case presence::BeatOutcome::kNotFound: break;
  }
  return json_error(404, "not_found", not_found_detail);
}

http::Response json_error(int status, std::string_view code, std::string_view detail) {
  return json_response(status, Json{{"error", code}, {"detail", detail}});
}

http::Response invalid_seconds(std::string_view name, std::chrono::seconds min, std::chrono::seconds max) {
  return json_error(
      400, fmt::format("invalid_{}", name),
      fmt::format("{} must be a whole number of seconds from {} to {} (30 days)", name, min.count(), max.count()));
}

}  // namespace pulse::handlers::heartbeat
