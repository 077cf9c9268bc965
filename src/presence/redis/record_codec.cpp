// Client records and events as the Lua scripts write them, decoded with nlohmann::json.
#include "pulse/presence/redis/record_codec.hpp"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "pulse/base/parse.hpp"

namespace pulse::presence::redis {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad_record(std::string_view why) {
  throw ProtocolError(fmt::format("redis: a client record {}", why));
}

const Json& member(const Json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) bad_record(fmt::format("has no \"{}\"", name));
  return *it;
}

std::string string_member(const Json& object, const char* name) {
  const Json& value = member(object, name);
  if (!value.is_string()) bad_record(fmt::format("has a \"{}\" that is not a string", name));
  return value.get<std::string>();
}

std::int64_t integer_text(const std::string& text, const char* name) {
  std::int64_t value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) bad_record(fmt::format("has a \"{}\" that is not an integer", name));
  return value;
}

Time time_member(const Json& object, const char* name) {
  return Time(std::chrono::duration_cast<Time::duration>(
      std::chrono::microseconds(integer_text(string_member(object, name), name))));
}

std::chrono::seconds seconds_member(const Json& object, const char* name) {
  const Json& value = member(object, name);
  if (!value.is_number_integer()) bad_record(fmt::format("has a \"{}\" that is not whole seconds", name));
  return std::chrono::seconds(value.get<std::int64_t>());
}

const std::string& field(const std::vector<Reply>& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].as_string() == name) return fields[i + 1].as_string();
  }
  throw ProtocolError(fmt::format("redis: an event has no field \"{}\"", name));
}

}  // namespace

std::string to_micros_text(Time time) {
  return fmt::format("{}", std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

ClientView decode_client(std::string_view json) {
  const Json object = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) bad_record("is not a JSON object");
  ClientView client;
  client.id = string_member(object, "id");
  const auto state = client_state_from_string(string_member(object, "state"));
  if (!state) bad_record("has an unknown state");
  client.state = *state;
  const auto health = health_from_string(string_member(object, "health"));
  if (!health) bad_record("has an unknown health");
  client.health = *health;
  client.interval = seconds_member(object, "interval");
  client.grace = seconds_member(object, "grace");
  client.message = string_member(object, "message");
  client.remote_addr = string_member(object, "remote_addr");
  const std::int64_t beats = integer_text(string_member(object, "beats"), "beats");
  if (beats < 0) bad_record("has a negative beat count");
  client.beats = static_cast<std::uint64_t>(beats);
  client.last_beat = time_member(object, "last_beat");
  if (object.contains("last_ok")) client.last_ok = time_member(object, "last_ok");
  client.next_due = time_member(object, "next_due");
  client.down_at = time_member(object, "down_at");
  return client;
}

std::string encode_client(const ClientView& client) {
  Json object = {
      {"id", client.id},
      {"state", to_string(client.state)},
      {"health", to_string(client.health)},
      {"interval", client.interval.count()},
      {"grace", client.grace.count()},
      {"message", client.message},
      {"remote_addr", client.remote_addr},
      {"beats", fmt::format("{}", client.beats)},
      {"last_beat", to_micros_text(client.last_beat)},
      {"next_due", to_micros_text(client.next_due)},
      {"down_at", to_micros_text(client.down_at)},
  };
  if (client.last_ok) object["last_ok"] = to_micros_text(*client.last_ok);
  // Replace, not throw: a message is validated UTF-8, but an id from a damaged state file may not be.
  return object.dump(-1, ' ', false, Json::error_handler_t::replace);
}

PresenceEvent decode_event(const Reply& entry) {
  const auto& parts = entry.as_array();
  if (parts.size() != 2) throw ProtocolError("redis: a stream entry is not [id, fields]");
  const std::string& id = parts[0].as_string();
  const auto sequence = base::parse_decimal<std::uint64_t>(std::string_view(id).substr(0, id.find('-')));
  if (!sequence) throw ProtocolError(fmt::format("redis: the stream id '{}' is not <sequence>-0", id));
  const auto& fields = parts[1].as_array();

  PresenceEvent event;
  event.sequence = *sequence;
  const std::string& kind = field(fields, "kind");
  if (kind == "join") {
    event.kind = EventKind::kJoin;
  } else if (kind == "change") {
    event.kind = EventKind::kChange;
  } else if (kind == "leave") {
    event.kind = EventKind::kLeave;
  } else {
    throw ProtocolError(fmt::format("redis: an event of unknown kind '{}'", kind));
  }
  const std::string& previous = field(fields, "previous");
  if (!previous.empty()) {
    event.previous = client_state_from_string(previous);
    if (!event.previous) throw ProtocolError("redis: an event with an unknown previous state");
  }
  event.reason = field(fields, "reason") == "expired" ? LeaveReason::kExpired : LeaveReason::kSignedOff;
  event.client = decode_client(field(fields, "client"));
  return event;
}

}  // namespace pulse::presence::redis
