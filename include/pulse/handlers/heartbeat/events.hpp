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

#include <chrono>
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

// How many streams may be open: in all, and from one remote address (so that one client cannot
// take every slot and never read).
inline constexpr std::size_t kDefaultMaxEventStreams = 1024;
inline constexpr std::size_t kDefaultMaxStreamsPerAddress = 32;
struct StreamLimits {
  std::size_t max_streams = kDefaultMaxEventStreams;
  std::size_t max_per_address = kDefaultMaxStreamsPerAddress;
};

// A snapshot is rendered again at most this often while the registry does not change, and at
// most once per change however many streams need it.
inline constexpr std::chrono::milliseconds kSnapshotMaxAge{1000};

// Thread-safe: open() runs on worker threads, the rest on the heartbeat sweeper thread.
class EventStreams {
 public:
  EventStreams(presence::PresenceStore& store, StreamLimits limits);

  enum class Refusal { kNone, kServerFull, kAddressFull, kClosed };
  struct Opened {
    std::shared_ptr<http::ResponseStream> stream;  // nullptr when refused
    Refusal refusal = Refusal::kNone;
  };
  // A new stream already holding its first events: the events after `last_event_id` when the
  // store still has them all, a snapshot otherwise. Refused when the limits are reached, or
  // after close_all().
  [[nodiscard]] Opened open(std::optional<std::uint64_t> last_event_id, std::string_view remote_addr);

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
    std::string remote_addr;
  };

  struct Snapshot {
    std::uint64_t version = 0;   // the registry version it shows
    std::uint64_t sequence = 0;  // the last event it includes
    presence::Time rendered_at{};
    std::shared_ptr<const std::string> text;  // the whole SSE event, shared by every stream sent it
  };
  // The current snapshot: the cached one while the registry has not changed (and it is younger
  // than kSnapshotMaxAge), else a new one. The clients are copied under the store's locks and
  // rendered outside them, and outside mutex_, so a big registry stalls neither.
  [[nodiscard]] std::shared_ptr<const Snapshot> current_snapshot();

  // The caller holds mutex_. Each returns false when the stream's client is gone.
  bool send_snapshot(Subscriber& subscriber, const Snapshot& snapshot);
  [[nodiscard]] Refusal refusal_for(std::string_view remote_addr) const;
  bool send_events(Subscriber& subscriber, const std::vector<presence::PresenceEvent>& events,
                   presence::Time at);
  void broadcast(const std::shared_ptr<const std::string>& text);

  presence::PresenceStore& store_;
  const StreamLimits limits_;
  std::mutex snapshot_mutex_;                 // one render at a time; taken after mutex_ when both are held
  std::shared_ptr<const Snapshot> snapshot_;  // guarded by snapshot_mutex_
  mutable std::mutex mutex_;
  std::vector<Subscriber> subscribers_;  // guarded by mutex_
  bool closed_ = false;                  // guarded by mutex_
};

}  // namespace pulse::handlers::heartbeat
