// EventLoop: epoll_wait, then due timers, then queued tasks; repeat until quit().
#include "pulse/net/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

#include "pulse/base/log.hpp"
#include "pulse/base/system_error.hpp"

namespace pulse::net {
namespace {

constexpr int kMaxEventsPerWait = 256;
// Upper bound on one epoll_wait so a lost wake-up (which should not happen) cannot hang us.
constexpr int kMaxWaitMs = 1000;

// EPOLL_CTL_ADD or _MOD of `fd` with `data` as its tag; throws naming `call`.
void control(int epoll_fd, int operation, int fd, std::uint32_t events, void* data, const char* call) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = data;
  if (::epoll_ctl(epoll_fd, operation, fd, &event) != 0) base::throw_last_error(call);
}

}  // namespace

EventLoop::EventLoop()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wakeup_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      thread_id_(std::this_thread::get_id()),
      now_(base::MonotonicClock::now()),
      timers_(now_) {
  if (!epoll_fd_) base::throw_last_error("epoll_create1");
  if (!wakeup_fd_) base::throw_last_error("eventfd");
  // nullptr marks the wake-up fd.
  control(epoll_fd_.get(), EPOLL_CTL_ADD, wakeup_fd_.get(), EPOLLIN, nullptr, "epoll_ctl(ADD eventfd)");
}

EventLoop::~EventLoop() = default;

bool EventLoop::is_in_loop_thread() const noexcept {
  return thread_id_.load() == std::this_thread::get_id();
}

void EventLoop::assert_in_loop_thread() const {
  if (!is_in_loop_thread()) {
    // A broken thread-affinity rule corrupts state silently: stop here, saying why.
    base::log_fatal({}, "EventLoop used from a foreign thread; aborting");
    std::abort();
  }
}

void EventLoop::run() {
  thread_id_.store(std::this_thread::get_id());
  std::array<epoll_event, kMaxEventsPerWait> events{};
  while (!quit_.load(std::memory_order_acquire)) {
    now_ = base::MonotonicClock::now();
    int timeout_ms = kMaxWaitMs;
    if (auto next = timers_.time_until_next(now_)) {
      timeout_ms = static_cast<int>(std::min<std::int64_t>(next->count(), kMaxWaitMs));
    }
    {
      // Tasks queued by the loop thread itself sent no wake-up: do not sleep on them.
      std::lock_guard lock(tasks_mutex_);
      if (!tasks_.empty()) timeout_ms = 0;
    }
    const int n = ::epoll_wait(epoll_fd_.get(), events.data(), kMaxEventsPerWait, timeout_ms);
    if (n < 0 && errno != EINTR) base::throw_last_error("epoll_wait");
    now_ = base::MonotonicClock::now();
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<IoHandler*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (handler == nullptr) {
        handle_wakeup();
      } else {
        handler->handle_events(events[static_cast<std::size_t>(i)].events);
      }
    }
    timers_.advance(now_);
    run_pending_tasks();
  }
  // Tasks queued just before quit() still run: they may own resources that must be released
  // on this thread.
  run_pending_tasks();
}

void EventLoop::quit() {
  quit_.store(true, std::memory_order_release);
  if (!is_in_loop_thread()) post([] {});
}

void EventLoop::post(Task task) {
  bool was_empty = false;
  {
    std::lock_guard lock(tasks_mutex_);
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  // One wake-up per batch; from the loop thread itself the task runs at the end of the iteration.
  if (was_empty && !is_in_loop_thread()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wakeup_fd_.get(), &one, sizeof one);
  }
}

void EventLoop::handle_wakeup() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto got = ::read(wakeup_fd_.get(), &count, sizeof count);
}

void EventLoop::run_pending_tasks() {
  // Tasks may queue more tasks; those run in the next round so one task cannot starve I/O.
  std::vector<Task> batch;
  {
    std::lock_guard lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  if (batch.empty()) return;
  // The events before may have taken a while, and a task may take in new work (a connection's
  // pump continuation reads what arrived meanwhile): its deadlines count from now.
  now_ = base::MonotonicClock::now();
  for (auto& task : batch) task();
}

void EventLoop::add(int fd, std::uint32_t events, IoHandler* handler) {
  assert_in_loop_thread();
  control(epoll_fd_.get(), EPOLL_CTL_ADD, fd, events, handler, "epoll_ctl(ADD)");
}

void EventLoop::modify(int fd, std::uint32_t events, IoHandler* handler) {
  assert_in_loop_thread();
  control(epoll_fd_.get(), EPOLL_CTL_MOD, fd, events, handler, "epoll_ctl(MOD)");
}

void EventLoop::remove(int fd) {
  assert_in_loop_thread();
  // Errors are ignored: the fd may already be gone from the set, which is what we want.
  (void)::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

}  // namespace pulse::net
