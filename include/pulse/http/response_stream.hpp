// ResponseStream: the body of a streaming response (server-sent events). A producer on any
// thread writes chunks; the connection's worker sends them. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::http {

class ResponseStream {
 public:
  // Called on the producer's thread when data or close is pending; the connection uses it to
  // wake its loop. Set once by the connection before any write.
  using Notify = std::function<void()>;

  ResponseStream() = default;
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;
  ~ResponseStream();

  // Any thread. Returns false once the stream is closed (the client went away): the producer
  // should then drop its reference.
  bool write(std::string_view data);
  // The same for a buffer many streams send (a snapshot): queued by reference, never copied, so
  // a thousand slow readers of one snapshot hold one copy of it.
  bool write_shared(std::shared_ptr<const std::string> data);
  // Any thread: ends the stream (the connection finishes the chunked body and closes).
  void close();
  [[nodiscard]] bool closed() const;
  // Producer side: `callback` runs once, when the connection lets go of the stream (the client
  // went away, the stream ended, the connection closed) or the stream is destroyed without ever
  // having been sent. So a producer that must know when its client leaves (a held heartbeat
  // connection) learns it at once, not at its next write. It runs on the thread that lets go,
  // usually a worker's loop: keep it short and never block in it. Runs at once when that
  // already happened; a later call replaces a callback that has not run yet.
  void on_detached(std::function<void()> callback);

  // Connection side (its loop thread).
  void attach(Notify notify);
  // What was written, in order: runs of copied bytes and shared buffers.
  struct Segment {
    std::string owned;
    std::shared_ptr<const std::string> shared;  // when set, `owned` is empty

    [[nodiscard]] std::string_view view() const noexcept { return shared ? std::string_view(*shared) : owned; }
  };
  struct Pending {
    std::vector<Segment> segments;
    bool closed;

    [[nodiscard]] bool empty() const noexcept { return segments.empty(); }
    // Everything as one string (tests, and readers that want text).
    [[nodiscard]] std::string text() const;
  };
  // Moves out everything written so far and whether the producer closed, in one step, so a
  // write followed by close() between two calls cannot be lost.
  [[nodiscard]] Pending take();
  // The connection ended (client gone): later writes return false.
  void detach();

 private:
  // Appends under the lock and wakes the connection once per batch.
  template <typename Append>
  bool push(Append&& append);

  mutable std::mutex mutex_;
  std::vector<Segment> pending_;   // guarded by mutex_
  Notify notify_;                  // guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
  bool notify_scheduled_ = false;  // guarded by mutex_: one wake-up per batch of writes
  bool detached_ = false;          // guarded by mutex_
  std::function<void()> on_detached_;  // guarded by mutex_; emptied when it runs
};

}  // namespace pulse::http
