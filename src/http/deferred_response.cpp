// DeferredResponse: a one-shot, mutex-guarded hand-over of a Response to the connection.
#include "pulse/http/deferred_response.hpp"

#include <utility>

#include "pulse/http/response_stream.hpp"

namespace pulse::http {

void discard_response(Response& response) noexcept {
  if (response.stream) response.stream->detach();
  response.stream.reset();
}

DeferredResponse::~DeferredResponse() {
  bool answer = false;
  {
    const std::lock_guard lock(mutex_);
    answer = !completed_ && !detached_ && on_complete_;
  }
  if (answer) {
    try {
      complete(Response::error(503));
    } catch (...) {
      // Out of memory while building a small page: the connection's shutdown grace or the
      // client's own timeout ends the wait instead. A destructor must not throw.
    }
  }
  if (response_) discard_response(*response_);  // completed, but nobody attached to send it
}

bool DeferredResponse::complete(Response response) {
  OnComplete deliver;
  {
    const std::lock_guard lock(mutex_);
    if (completed_ || detached_) {
      discard_response(response);
      return false;
    }
    completed_ = true;
    if (!on_complete_) {
      response_ = std::move(response);  // attach() delivers it
      return true;
    }
    deliver = std::exchange(on_complete_, nullptr);
  }
  // Outside the lock: delivering posts to another thread's loop.
  deliver(std::move(response));
  return true;
}

bool DeferredResponse::completed() const {
  const std::lock_guard lock(mutex_);
  return completed_;
}

void DeferredResponse::attach(OnComplete on_complete) {
  std::optional<Response> ready;
  {
    const std::lock_guard lock(mutex_);
    if (detached_) return;
    if (!completed_) {
      on_complete_ = std::move(on_complete);
      return;
    }
    ready = std::exchange(response_, std::nullopt);
  }
  if (ready) on_complete(std::move(*ready));
}

void DeferredResponse::detach() {
  std::optional<Response> dropped;
  OnComplete callback;
  {
    const std::lock_guard lock(mutex_);
    detached_ = true;
    callback = std::exchange(on_complete_, nullptr);
    dropped = std::exchange(response_, std::nullopt);
  }
  // Destroyed outside the lock: their destructors may reach other objects' locks.
  if (dropped) discard_response(*dropped);
}

}  // namespace pulse::http
