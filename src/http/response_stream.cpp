// ResponseStream: a mutex-guarded byte queue between a producer thread and a connection.
#include "pulse/http/response_stream.hpp"

#include <utility>

namespace pulse::http {

bool ResponseStream::write(std::string_view data) {
  return push([&] {
    if (pending_.empty() || pending_.back().shared) pending_.emplace_back();
    pending_.back().owned.append(data);
  });
}

bool ResponseStream::write_shared(std::shared_ptr<const std::string> data) {
  return push([&] { pending_.push_back({{}, std::move(data)}); });
}

template <typename Append>
bool ResponseStream::push(Append&& append) {
  Notify notify;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    append();
    if (notify_ && !notify_scheduled_) {
      notify_scheduled_ = true;
      notify = notify_;
    }
  }
  // Called outside the lock: the notify posts to another thread's loop.
  if (notify) notify();
  return true;
}

std::string ResponseStream::Pending::text() const {
  std::string out;
  for (const auto& segment : segments) out += segment.view();
  return out;
}

void ResponseStream::close() {
  Notify notify;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    notify = notify_;
    notify_scheduled_ = true;
  }
  if (notify) notify();
}

bool ResponseStream::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void ResponseStream::attach(Notify notify) {
  bool has_pending = false;
  Notify copy;
  {
    std::lock_guard lock(mutex_);
    notify_ = std::move(notify);
    copy = notify_;
    has_pending = !pending_.empty() || closed_;
    notify_scheduled_ = has_pending;
  }
  if (has_pending) copy();
}

ResponseStream::Pending ResponseStream::take() {
  std::lock_guard lock(mutex_);
  notify_scheduled_ = false;
  return {std::exchange(pending_, {}), closed_};
}

void ResponseStream::detach() {
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    detached_ = true;
    notify_ = nullptr;
    pending_.clear();
    callback = std::exchange(on_detached_, nullptr);
  }
  // Outside the lock: the producer's callback may take its own locks and write to other streams.
  if (callback) callback();
}

void ResponseStream::on_detached(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!detached_) {
      on_detached_ = std::move(callback);
      return;
    }
  }
  if (callback) callback();
}

ResponseStream::~ResponseStream() {
  // Never sent (a response dropped on its way) counts as let go: the producer must still learn it.
  if (on_detached_) on_detached_();
}

}  // namespace pulse::http
