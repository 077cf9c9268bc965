// Alert: the document one presence event becomes, the same for every webhook URL: JSON with the
// facts a program needs and a `text` line a person reads (Slack- and Mattermost-compatible).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::app::webhooks {

struct Alert {
  std::string key;   // the Idempotency-Key: the same on every retry, different for every alert
  std::string id;    // the client's, for logs
  std::string body;  // the JSON document
};

// When the event happened: a client went down when its grace ran out and late when its interval
// did, not when the sweep noticed; anything else happened at `now` (the store's clock).
[[nodiscard]] presence::Time event_time(const presence::PresenceEvent& event, presence::Time now) noexcept;

// "web-1 is down (was up) on pulse-1: disk full". &, < and > are escaped as Slack asks, so a
// client's message cannot mention @channel or forge links.
[[nodiscard]] std::string alert_text(const presence::PresenceEvent& event, std::string_view server_name);

// The document:
//   {"text", "id", "event": "join"|"change"|"leave", "from": state|null, "to": state|null, "at",
//    "last_beat", "message", "duration_ms": the last run's|null, "exit_code": N|null,
//    "server", "sequence": N|null, "reason": "signed_off"|"expired" (leave only)}
// The key is "<server>-<sequence>"; a sign-off carries no sequence (remove() returns no event),
// so its key is "<server>-<id>-left-<at in ms>".
[[nodiscard]] Alert make_alert(const presence::PresenceEvent& event, std::string_view server_name, presence::Time now);

}  // namespace pulse::app::webhooks
