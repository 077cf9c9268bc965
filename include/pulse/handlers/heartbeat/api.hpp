// HeartbeatApi: the /heartbeat handler. Parses and validates what curl sends, asks the presence
// store, answers JSON; GET /heartbeat/events hands out a server-sent event stream.
//
//   POST|PUT /heartbeat/{id}?interval=&grace=&status=ok|fail&msg=&rid=  a beat: 201 new, 200 known;
//                                                   a body that is not a form is the client's log
//   POST|PUT /heartbeat/{id}/start|fail|ok|{0-255}   job signals, the same parameters (no status=)
//   POST|PUT /heartbeat/{id}/pause                   no alarms until the next beat; 404 if unknown
//   GET      /heartbeat?state=&prefix=&limit=&after=   the list (ETag, 304), or a page of it
//   GET      /heartbeat/{id}                           one client with its log and history, or 404
//   GET      /heartbeat/{id}/history                   its state changes and runs, oldest first
//   GET      /heartbeat/{id}/log                       its last log as text (204: none)
//   DELETE   /heartbeat/{id}                           sign off: 204, or 404
//   GET      /heartbeat/events                         server-sent events
//   GET      /heartbeat/{id}/hold?interval=&grace=&msg=  a held connection (hold.hpp)
// Reserved, served by their own files: /heartbeat/{id}/badge.svg and /heartbeat/badge.svg.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pulse/base/task_pool.hpp"
#include "pulse/handlers/heartbeat/alert_sink.hpp"
#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/handlers/heartbeat/request_metrics.hpp"
#include "pulse/http/handler.hpp"
#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

class HoldRegistry;

// How long a refused client should wait before trying again (the store's refusals: json.hpp).
inline constexpr std::chrono::seconds kStreamsBusyRetryAfter{5};
inline constexpr std::chrono::seconds kStoreUnavailableRetryAfter{2};
// The whole list is rendered at most once per registry version, and again at most this often
// while the registry does not change (its server_time moves on), whatever the request rate.
inline constexpr std::chrono::milliseconds kListMaxAge{1000};
// Above this many clients, a list or snapshot is rendered off the worker's loop (when a render
// pool is set): about 2 ms of rendering.
inline constexpr std::size_t kInlineRenderClients = 2'000;
// `limit=` takes at most this many clients per page.
inline constexpr std::size_t kMaxPageSize = 100'000;

class HeartbeatApi final : public http::Handler {
 public:
  // `on_change` runs after a request changed presence (a new client, a transition, a sign-off):
  // the service pushes the event to the streams at once instead of at its next tick.
  // `store_calls`: where requests run when the store's calls may block (nullptr: on the calling
  // thread); it must outlive the handler's use.
  // `metrics` (may be nullptr) counts what the store recorded; `holds` answers
  // /heartbeat/{id}/hold (nullptr: 404). Both must outlive the handler's use.
  HeartbeatApi(presence::PresenceStore& store, EventStreams& streams, std::function<void()> on_change,
               base::TaskPool* store_calls = nullptr, RequestMetrics* metrics = nullptr,
               HoldRegistry* holds = nullptr);

  // Any worker thread. With `store_calls`, answers with a deferred response completed on a store
  // thread, or 503 at once when too many requests wait already.
  [[nodiscard]] http::Response handle(const http::Request& request) override;

  // W/"<epoch>-<version>": weak, because the body also carries server_time, which moves on its
  // own; the epoch (this process's start) keeps a restarted server from matching old tags.
  [[nodiscard]] std::string list_etag(std::uint64_t version) const;

  // Events this handler's store calls return (a beat's join or change, a sign-off) go to
  // `alerts` too. Set before the handler serves; nullptr: none. It must outlive the handler's use.
  void set_alert_sink(AlertSink* alerts) noexcept { alerts_ = alerts; }
  // Where a store that does not block renders the whole list and the event-stream snapshot once
  // it holds more than kInlineRenderClients (nullptr: on the worker). Before serving; it must
  // outlive the handler's use.
  void set_render_pool(base::TaskPool* renders) noexcept { render_calls_ = renders; }

 private:
  // The whole list, rendered: shared by every request for the same version (a slow reader
  // references it, it does not copy it).
  struct RenderedList {
    std::uint64_t version = 0;
    presence::Time rendered_at{};
    std::shared_ptr<const std::string> body;
  };
  [[nodiscard]] std::shared_ptr<const RenderedList> whole_list() const;

  // The request, answered on this thread; StoreUnavailable becomes 503 with Retry-After.
  [[nodiscard]] http::Response handle_guarded(const http::Request& request);
  // A GET or HEAD of the whole list or the event stream while many clients are held.
  [[nodiscard]] bool renders_large_document(const http::Request& request) const;
  [[nodiscard]] http::Response route(const http::Request& request);
  [[nodiscard]] http::Response handle_list(const http::Request& request) const;
  [[nodiscard]] http::Response handle_events(const http::Request& request);
  // Every request that the store records as a signal: a beat, /start, /fail, /ok (`health`),
  // an exit status (`exit_code`), /pause.
  [[nodiscard]] http::Response handle_beat(const http::Request& request, std::string id, presence::Signal signal,
                                           std::optional<presence::Health> health = std::nullopt,
                                           std::optional<std::uint8_t> exit_code = std::nullopt);
  [[nodiscard]] http::Response handle_show(const std::string& id) const;
  [[nodiscard]] http::Response handle_history(const std::string& id) const;
  [[nodiscard]] http::Response handle_log(const std::string& id) const;
  [[nodiscard]] http::Response handle_remove(const std::string& id);

  presence::PresenceStore& store_;
  EventStreams& streams_;
  const std::function<void()> on_change_;
  base::TaskPool* const store_calls_;
  RequestMetrics* const metrics_;
  HoldRegistry* const holds_;
  const std::string etag_epoch_;
  mutable std::mutex list_mutex_;                           // one render at a time
  mutable std::shared_ptr<const RenderedList> list_cache_;  // guarded by list_mutex_
  AlertSink* alerts_ = nullptr;
  base::TaskPool* render_calls_ = nullptr;  // set before serving                             // set before serving
};

}  // namespace pulse::handlers::heartbeat
