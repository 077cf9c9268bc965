// JSON documents of the heartbeat API: one function per document, fields in the order people read them.
#include "pulse/handlers/heartbeat/json.hpp"

#include <fmt/format.h>

#include <chrono>

namespace pulse::handlers::heartbeat {
namespace {

std::string iso(const presence::TimeBase& at, presence::MonoTime time) {
  return format_iso8601(at.to_wall(time));
}

}  // namespace

std::string dump_json(const Json& document) {
  return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string format_iso8601(presence::Clock::Wall::time_point time) {
  using namespace std::chrono;
  const auto millis = floor<milliseconds>(time);
  const auto day = floor<days>(millis);
  const year_month_day date{day};
  const hh_mm_ss clock{millis - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

Json client_json(const presence::ClientView& client, const presence::TimeBase& at) {
  return {
      {"id", client.id},
      {"state", presence::to_string(client.state)},
      {"online", presence::is_online(client.state)},
      {"status", presence::to_string(client.health)},
      {"last_beat", iso(at, client.last_beat)},
      {"last_ok", client.last_ok ? Json(iso(at, *client.last_ok)) : Json(nullptr)},
      {"next_due", iso(at, client.next_due)},
      {"down_at", iso(at, client.down_at)},
      {"interval", client.interval.count()},
      {"grace", client.grace.count()},
      {"beats", client.beats},
      {"remote_addr", client.remote_addr},
      {"msg", client.message},
  };
}

Json listing_json(const presence::Listing& listing, const presence::TimeBase& at) {
  Json counts = Json::object();
  for (const presence::ClientState state : presence::kAllClientStates) {
    counts[std::string(presence::to_string(state))] = listing.counts[state];
  }
  Json clients = Json::array();
  for (const auto& client : listing.clients) clients.push_back(client_json(client, at));
  return {
      {"server_time", format_iso8601(at.wall)},
      {"total", listing.counts.total()},
      {"online", listing.counts.online()},
      {"offline", listing.counts[presence::ClientState::kDown]},
      {"counts", std::move(counts)},
      {"clients", std::move(clients)},
  };
}

Json beat_json(const presence::ClientView& client, const presence::TimeBase& at) {
  return {
      {"id", client.id},
      {"state", presence::to_string(client.state)},
      {"server_time", format_iso8601(at.wall)},
      {"next_due", iso(at, client.next_due)},
      {"down_at", iso(at, client.down_at)},
      {"interval", client.interval.count()},
      {"grace", client.grace.count()},
      {"beats", client.beats},
  };
}

Json event_json(const presence::PresenceEvent& event, const presence::TimeBase& at) {
  if (event.kind == presence::EventKind::kLeave) {
    return {
        {"server_time", format_iso8601(at.wall)},
        {"id", event.client.id},
        {"reason", presence::to_string(event.reason)},
    };
  }
  return {
      {"server_time", format_iso8601(at.wall)},
      {"previous", event.previous ? Json(presence::to_string(*event.previous)) : Json(nullptr)},
      {"client", client_json(event.client, at)},
  };
}

Json beats_json(const std::vector<presence::ClientView>& clients, const presence::TimeBase& at) {
  Json list = Json::array();
  for (const auto& client : clients) list.push_back(client_json(client, at));
  return {{"server_time", format_iso8601(at.wall)}, {"clients", std::move(list)}};
}

http::Response json_response(int status, const Json& body) {
  return http::Response::text(status, dump_json(body) + "\n", "application/json");
}

http::Response json_error(int status, std::string_view code, std::string_view detail) {
  return json_response(status, Json{{"error", code}, {"detail", detail}});
}

}  // namespace pulse::handlers::heartbeat
