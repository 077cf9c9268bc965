// EventLoop: one epoll reactor per thread, with a timer wheel and a cross-thread task queue
// woken through an eventfd. Every method but post() and quit() runs on the loop thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "pulse/base/unique_fd.hpp"
#include "pulse/net/timer_wheel.hpp"

namespace pulse::net {

// Anything registered with an EventLoop receives its readiness through this interface.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // Called on the loop thread with the epoll event mask.
  virtual void handle_events(std::uint32_t events) = 0;
};

class EventLoop {
 public:
  using Task = std::function<void()>;

  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Runs until quit(). The calling thread becomes the loop thread.
  void run();
  // Any thread: makes run() return after the current iteration.
  void quit();

  // Any thread: runs `task` on the loop thread, in submission order, always later: from another
  // thread after a wake-up, from the loop thread itself at the end of the current iteration
  // (used to defer work, and deletes, past the handler that is running).
  void post(Task task);

  [[nodiscard]] bool is_in_loop_thread() const noexcept;
  void assert_in_loop_thread() const;

  // Loop thread. Edge-triggered registration is the caller's choice through `events`.
  void add(int fd, std::uint32_t events, IoHandler* handler);
  void modify(int fd, std::uint32_t events, IoHandler* handler);
  void remove(int fd);

  // Loop thread: the time read after epoll_wait returned, and again before the posted tasks
  // run; cached to save clock reads.
  [[nodiscard]] base::MonotonicClock::time_point now() const noexcept { return now_; }
  // Loop thread: reads the clock again. For a handler that takes in work which may have arrived
  // after the iteration began (the acceptor, once per connection): deadlines counted from a
  // stale now() would fire early by as long as the iteration has run so far.
  void refresh_now() {
    assert_in_loop_thread();
    now_ = base::MonotonicClock::now();
  }
  [[nodiscard]] TimerWheel& timers() noexcept { return timers_; }

 private:
  void run_pending_tasks();
  void handle_wakeup();

  base::UniqueFd epoll_fd_;
  base::UniqueFd wakeup_fd_;
  std::atomic<bool> quit_{false};
  std::atomic<std::thread::id> thread_id_;
  base::MonotonicClock::time_point now_;
  TimerWheel timers_;

  std::mutex tasks_mutex_;
  std::vector<Task> tasks_;  // guarded by tasks_mutex_
};

}  // namespace pulse::net
