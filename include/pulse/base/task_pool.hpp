// TaskPool: a few named threads and a bounded FIFO of tasks, for work that must not run on an
// event loop (a blocking store call). Full or stopping, it refuses at once instead of blocking.
// Thread-safe: every method may be called from any thread, except stop() from one of its tasks.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pulse::base {

class TaskPool {
 public:
  // Copyable because std::function is; a task owns what it captures until it has run or been
  // dropped, so a dropped task releases its captures (a DeferredResponse then answers 503).
  using Task = std::function<void()>;

  // Starts `threads` threads named `name` (cut to the 15 characters Linux keeps), sharing a
  // queue of at most `capacity` tasks waiting to run. Both must be at least 1
  // (std::invalid_argument); a thread that cannot be started throws std::system_error.
  TaskPool(std::size_t threads, std::size_t capacity, std::string name = "pulse-pool");
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;
  ~TaskPool();

  // Queues `task` to run on a pool thread, in submission order. False, with the task neither run
  // nor kept, when `capacity` tasks are already waiting or the pool is stopping: the caller
  // answers for it (503) rather than wait.
  [[nodiscard]] bool try_submit(Task task);

  // Refuses new tasks, drops the queued ones without running them (destroyed on the calling
  // thread), lets running ones finish and joins the threads. Idempotent; the destructor calls it.
  // Never from a task of this pool (it would join its own thread).
  void stop();

  // Tasks waiting to run (not those running): for metrics.
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t threads() const noexcept { return thread_count_; }

 private:
  void run(std::size_t index);

  const std::size_t capacity_;
  const std::size_t thread_count_;
  const std::string name_;

  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<Task> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_

  std::mutex join_mutex_;  // two concurrent stop() calls must not join one thread twice
  std::vector<std::thread> threads_;
};

}  // namespace pulse::base
