// AccessLog: Common Log Format lines, batched per worker and written by a dedicated thread so
// a slow terminal or disk never blocks an event loop.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/connection.hpp"

namespace pulse::app {

class AccessLog {
 public:
  // Beyond this much unwritten log, batches are dropped (and counted) rather than buffered.
  static constexpr std::size_t kMaxBacklogBytes = 8 * 1024 * 1024;

  // "off" -> nullptr; "stdout"; otherwise a file opened for append. Throws std::system_error.
  static std::unique_ptr<AccessLog> open(const std::string& spec);

  explicit AccessLog(base::UniqueFd fd);
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  // Writes everything submitted, then stops the writer thread.
  ~AccessLog();

  // Any thread: queues a batch of complete lines.
  void submit(std::string batch);
  [[nodiscard]] std::uint64_t dropped_batches() const;

 private:
  void run();

  base::UniqueFd fd_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // guarded by mutex_
  std::size_t backlog_bytes_ = 0;  // guarded by mutex_
  std::uint64_t dropped_ = 0;      // guarded by mutex_
  bool stopping_ = false;          // guarded by mutex_
  std::thread writer_;
};

// Appends one Common Log Format line for `record` to `out`.
void append_clf_line(const http::AccessRecord& record, std::string& out);

}  // namespace pulse::app
