// HeartbeatApi: the /heartbeat handler. Parses and validates what curl sends, asks the presence
// store, answers JSON; GET /heartbeat/events hands out a server-sent event stream.
//
//   POST|PUT /heartbeat/{id}?interval=&grace=&status=ok|fail&msg=   a beat: 201 new, 200 known
//   GET      /heartbeat?state=&prefix=                                 the list (ETag, 304)
//   GET      /heartbeat/{id}                                           one client, or 404
//   DELETE   /heartbeat/{id}                                           sign off: 204, or 404
//   GET      /heartbeat/events                                         server-sent events
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/http/handler.hpp"
#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

// How long a refused client should wait before trying again.
inline constexpr std::chrono::seconds kRateLimitedRetryAfter{1};
inline constexpr std::chrono::seconds kRegistryFullRetryAfter{60};
inline constexpr std::chrono::seconds kStreamsBusyRetryAfter{5};

class HeartbeatApi final : public http::Handler {
 public:
  // `on_change` runs after a request changed presence (a new client, a transition, a sign-off):
  // the service pushes the event to the streams at once instead of at its next tick.
  HeartbeatApi(presence::PresenceStore& store, EventStreams& streams, std::shared_ptr<const presence::Clock> clock,
               std::function<void()> on_change);

  // Any worker thread.
  [[nodiscard]] http::Response handle(const http::Request& request) override;

  // W/"<epoch>-<version>": weak, because the body also carries server_time, which moves on its
  // own; the epoch (this process's start) keeps a restarted server from matching old tags.
  [[nodiscard]] std::string list_etag(std::uint64_t version) const;

 private:
  [[nodiscard]] http::Response handle_list(const http::Request& request) const;
  [[nodiscard]] http::Response handle_events(const http::Request& request);
  [[nodiscard]] http::Response handle_beat(const http::Request& request, std::string id);
  [[nodiscard]] http::Response handle_show(const std::string& id) const;
  [[nodiscard]] http::Response handle_remove(const std::string& id);

  presence::PresenceStore& store_;
  EventStreams& streams_;
  const std::shared_ptr<const presence::Clock> clock_;
  const std::function<void()> on_change_;
  const std::string etag_epoch_;
};

}  // namespace pulse::handlers::heartbeat
