// ResponseStream: the body of a streaming response (server-sent events). A producer on any
// thread writes chunks; the connection's worker sends them. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace pulse::http {

class ResponseStream {
 public:
  // Called on the producer's thread when data or close is pending; the connection uses it to
  // wake its loop. Set once by the connection before any write.
  using Notify = std::function<void()>;

  // Any thread. Returns false once the stream is closed (the client went away): the producer
  // should then drop its reference.
  bool write(std::string_view data);
  // Any thread: ends the stream (the connection finishes the chunked body and closes).
  void close();
  [[nodiscard]] bool closed() const;

  // Connection side (its loop thread).
  void attach(Notify notify);
  struct Pending {
    std::string data;
    bool closed;
  };
  // Moves out everything written so far and whether the producer closed, in one step, so a
  // write followed by close() between two calls cannot be lost.
  [[nodiscard]] Pending take();
  // The connection ended (client gone): later writes return false.
  void detach();

 private:
  mutable std::mutex mutex_;
  std::string pending_;            // guarded by mutex_
  Notify notify_;                  // guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
  bool notify_scheduled_ = false;  // guarded by mutex_: one wake-up per batch of writes
};

}  // namespace pulse::http
