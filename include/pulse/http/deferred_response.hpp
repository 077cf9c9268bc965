// DeferredResponse: the answer to one request, given later and from any thread (a handler that
// waits on a store must not block its worker's loop). The handler returns a Response whose
// `deferred` is set and hands this object to whoever will answer. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <optional>

#include "pulse/http/response.hpp"

namespace pulse::http {

class DeferredResponse {
 public:
  // Receives the response, once, on the thread that completed it (or, when it was completed
  // before the connection attached, on the connection's thread inside attach()). The connection
  // uses it to post the response to its loop.
  using OnComplete = std::function<void(Response)>;

  DeferredResponse() = default;
  DeferredResponse(const DeferredResponse&) = delete;
  DeferredResponse& operator=(const DeferredResponse&) = delete;
  // A response nobody completed is completed here with 503 (Response::error(503)): a producer
  // that drops its reference unanswered (its queue torn down, its task dropped) cannot leave the
  // client waiting forever. The connection holds no reference after attach(), so the last
  // producer reference decides.
  ~DeferredResponse();

  // Any thread: answers the request with `response`, which the connection treats exactly as if
  // the handler had returned it (a body, a file, a shared body or an event stream). Only the
  // first call counts: it returns true; later calls, and calls after the connection went away
  // (detach), return false and drop `response` (its event stream is detached, so the producer's
  // writes to it fail).
  bool complete(Response response);
  [[nodiscard]] bool completed() const;

  // Connection side, on its loop thread. Once: a response completed before this is handed to
  // `on_complete` at once.
  void attach(OnComplete on_complete);
  // The connection is gone: complete() is refused from now on and nothing more is called.
  void detach();

 private:
  mutable std::mutex mutex_;
  bool completed_ = false;            // guarded by mutex_
  bool detached_ = false;             // guarded by mutex_
  OnComplete on_complete_;            // guarded by mutex_; empty until attach(), and after delivery
  std::optional<Response> response_;  // guarded by mutex_: completed before attach()
};

// Drops a response that will never be sent: its event stream, if any, is detached so that the
// producer learns (its writes return false) and lets go of it.
void discard_response(Response& response) noexcept;

}  // namespace pulse::http
