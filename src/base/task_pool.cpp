// TaskPool: one mutex-guarded deque and a condition variable; tasks run outside the lock.
#include "pulse/base/task_pool.hpp"

#include <pthread.h>

#include <exception>
#include <stdexcept>
#include <utility>

#include "pulse/base/log.hpp"

namespace pulse::base {
namespace {

// Linux keeps 15 characters of a thread's name (16 with the NUL); a longer one is refused.
constexpr std::size_t kMaxThreadNameChars = 15;

}  // namespace

TaskPool::TaskPool(std::size_t threads, std::size_t capacity, std::string name)
    : capacity_(capacity), thread_count_(threads), name_(std::move(name)) {
  if (threads == 0) throw std::invalid_argument("a task pool needs at least one thread");
  if (capacity == 0) throw std::invalid_argument("a task pool needs room for at least one task");
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
  } catch (...) {
    stop();  // the threads already started must not outlive the failed constructor
    throw;
  }
}

TaskPool::~TaskPool() {
  stop();
}

bool TaskPool::try_submit(Task task) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(task));
  }
  wakeup_.notify_one();
  return true;
}

void TaskPool::stop() {
  std::deque<Task> dropped;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wakeup_.notify_all();
  // Destroyed outside the lock: a dropped task's captures may do anything in their destructors
  // (answer a DeferredResponse, even try_submit again, which is then refused).
  dropped.clear();
  const std::lock_guard join_lock(join_mutex_);
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t TaskPool::size() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

void TaskPool::run(std::size_t index) {
  (void)::pthread_setname_np(::pthread_self(), name_.substr(0, kMaxThreadNameChars).c_str());
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wakeup_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // stop() took the queue: nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    // A failing task is its submitter's bug, not the pool's: log it and keep the thread.
    try {
      task();
    } catch (const std::exception& e) {
      log_error({.action = "running a pool task"}, "task on {} thread {} failed: {}", name_, index, e.what());
    } catch (...) {
      log_error({.action = "running a pool task"}, "task on {} thread {} failed with a non-standard exception", name_,
                index);
    }
  }
}

}  // namespace pulse::base
