// AlertSink: where the heartbeat hands the presence events that it alone produced (a beat's,
// a sweep's, a sign-off's), so that alerts go out once even when replicas share one store. The
// app plugs the webhook dispatcher in; the heartbeat knows nothing of how alerts travel.
#pragma once

#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

class AlertSink {
 public:
  AlertSink() = default;
  AlertSink(const AlertSink&) = delete;
  AlertSink& operator=(const AlertSink&) = delete;
  virtual ~AlertSink() = default;

  // Any thread, a worker's event loop included: returns at once (queues, never sends). Events
  // from the event-stream mirror never come here: it also sees other replicas' events.
  virtual void on_event(const presence::PresenceEvent& event) = 0;
  // Whether sign-offs are wanted: the API then looks the client up before removing it (one more
  // store call per DELETE), since remove() says only whether it was there.
  [[nodiscard]] virtual bool wants_sign_offs() const noexcept { return false; }
};

}  // namespace pulse::handlers::heartbeat
