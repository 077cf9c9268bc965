// EventStreams: the open GET /heartbeat/events streams (server-sent events) and what each has
// been sent. The wire format, for the live page and any EventSource:
//
//   retry: 3000                    once, first: reconnect after 3 s
//   id: N / event: snapshot        data: the GET /heartbeat document (all clients)
//   id: N / event: join            data: {"server_time", "previous": null, "client": {...}}
//   id: N / event: change          data: {"server_time", "previous": "up", "client": {...}}
//   id: N / event: leave           data: {"server_time", "id", "reason": "signed_off"|"expired"}
//   event: beats (no id)           data: {"server_time", "clients": [...]}: who beat lately, at most
//                                  once a second, so "last seen" stays fresh; not a change, so it
//                                  carries no id and never moves Last-Event-ID
//   : keep-alive                   a comment every 15 s, so proxies keep the stream open
//
// Ids increase strictly; a client that reconnects with Last-Event-ID gets the changes it
// missed, or a new snapshot when the server's history no longer reaches back that far.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/http/response_stream.hpp"
#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

// One event in the text/event-stream format. `data` must not contain a newline (compact JSON
// never does). No `id` for events that are not changes.
[[nodiscard]] std::string format_sse_event(std::optional<std::uint64_t> id, std::string_view event,
                                           std::string_view data);

inline constexpr std::string_view kSseRetry = "retry: 3000\n\n";
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

// Thread-safe: open() runs on worker threads, the rest on the heartbeat sweeper thread.
class EventStreams {
 public:
  EventStreams(presence::PresenceStore& store, std::shared_ptr<const presence::Clock> clock, std::size_t max_streams);

  // A new stream already holding its first events: the events after `last_event_id` when the
  // store still has them all, a snapshot otherwise. nullptr when max_streams are open, or after
  // close_all().
  [[nodiscard]] std::shared_ptr<http::ResponseStream> open(std::optional<std::uint64_t> last_event_id);

  // Sends every stream the events it has not seen yet (a snapshot if it fell too far behind),
  // and forgets streams whose client went away.
  void publish();
  // One "beats" event with these clients, to every stream. Nothing when `clients` is empty.
  void publish_beats(const std::vector<presence::ClientView>& clients);
  void send_keep_alive();
  // Ends every stream (the connections finish their chunked bodies) and refuses new ones.
  void close_all();

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] bool closed() const;

 private:
  struct Subscriber {
    std::shared_ptr<http::ResponseStream> stream;
    std::uint64_t cursor = 0;  // the last event id this stream was sent
  };

  struct Snapshot {
    std::uint64_t sequence;
    std::string text;  // the whole SSE event
  };
  [[nodiscard]] Snapshot render_snapshot() const;

  // The caller holds mutex_. Each returns false when the stream's client is gone.
  bool send_snapshot(Subscriber& subscriber, const Snapshot& snapshot);
  bool send_events(Subscriber& subscriber, const std::vector<presence::PresenceEvent>& events,
                   const presence::TimeBase& at);
  void broadcast(std::string_view text);

  presence::PresenceStore& store_;
  const std::shared_ptr<const presence::Clock> clock_;
  const std::size_t max_streams_;
  mutable std::mutex mutex_;
  std::vector<Subscriber> subscribers_;  // guarded by mutex_
  bool closed_ = false;                  // guarded by mutex_
};

}  // namespace pulse::handlers::heartbeat
