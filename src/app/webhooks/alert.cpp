// Alert: one presence event as a webhook document and its one-line text.
#include "pulse/app/webhooks/alert.hpp"

#include <fmt/format.h>

#include "pulse/handlers/heartbeat/json.hpp"

namespace pulse::app::webhooks {
namespace {

using handlers::heartbeat::format_iso8601;
using handlers::heartbeat::Json;
using presence::EventKind;

// Slack reads <...> as links and mentions (<!channel>) and & as the start of an escape.
std::string slack_escaped(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string_view event_name(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::kJoin: return "join";
    case EventKind::kChange: return "change";
    case EventKind::kLeave: return "leave";
  }
  return "change";
}

Json state_or_null(std::optional<presence::ClientState> state) {
  return state ? Json(presence::to_string(*state)) : Json(nullptr);
}

}  // namespace

presence::Time event_time(const presence::PresenceEvent& event, presence::Time now) noexcept {
  if (event.kind != EventKind::kChange) return now;
  const auto& client = event.client;
  if (client.state == presence::ClientState::kDown && client.down_at <= now) return client.down_at;
  if (client.state == presence::ClientState::kLate && client.next_due <= now) return client.next_due;
  return now;
}

std::string alert_text(const presence::PresenceEvent& event, std::string_view server_name) {
  const auto& client = event.client;
  const std::string_view state = presence::to_string(client.state);
  std::string text;
  switch (event.kind) {
    case EventKind::kJoin: text = fmt::format("{} joined ({})", client.id, state); break;
    case EventKind::kChange:
      text = event.previous ? fmt::format("{} is {} (was {})", client.id, state, presence::to_string(*event.previous))
                            : fmt::format("{} is {}", client.id, state);
      break;
    case EventKind::kLeave:
      text = event.reason == presence::LeaveReason::kExpired
                 ? fmt::format("{} was forgotten (down past the retention period)", client.id)
                 : fmt::format("{} signed off (was {})", client.id, state);
      break;
  }
  text += fmt::format(" on {}", server_name);
  if (!client.message.empty() && event.kind != EventKind::kLeave) text += fmt::format(": {}", client.message);
  return slack_escaped(text);
}

Alert make_alert(const presence::PresenceEvent& event, std::string_view server_name, presence::Time now) {
  const auto& client = event.client;
  const presence::Time at = event_time(event, now);
  const bool leave = event.kind == EventKind::kLeave;
  // A sign-off's event is not returned by remove() (sequence 0): none to show.
  const bool has_sequence = event.sequence != 0;

  Json document = {
      {"text", alert_text(event, server_name)},
      {"id", client.id},
      {"event", event_name(event.kind)},
      {"from", leave ? Json(presence::to_string(client.state)) : state_or_null(event.previous)},
      {"to", leave ? Json(nullptr) : Json(presence::to_string(client.state))},
      {"at", format_iso8601(at)},
      {"last_beat", format_iso8601(client.last_beat)},
      {"message", client.message},
      {"duration_ms", client.last_duration ? Json(client.last_duration->count()) : Json(nullptr)},
      {"exit_code", client.exit_code ? Json(*client.exit_code) : Json(nullptr)},
      {"server", server_name},
      {"sequence", has_sequence ? Json(event.sequence) : Json(nullptr)},
  };
  if (leave) document["reason"] = presence::to_string(event.reason);

  Alert alert;
  alert.id = client.id;
  alert.key = has_sequence
                  ? fmt::format("{}-{}", server_name, event.sequence)
                  : fmt::format("{}-{}-left-{}", server_name, client.id,
                                std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
  alert.body = handlers::heartbeat::dump_json(document);
  return alert;
}

}  // namespace pulse::app::webhooks
