// FlakyStore: a PresenceStore for tests that forwards to an embedded registry, and can pretend to
// be a store across the network: its calls "may block", and it can be made unreachable, so that
// every blocking call throws StoreUnavailable and health() says not ready.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pulse/presence/presence_registry.hpp"

namespace pulse::testing {

class FlakyStore final : public presence::PresenceStore {
 public:
  explicit FlakyStore(std::shared_ptr<const presence::Clock> clock, presence::RegistryOptions options = {})
      : inner_(std::move(options), std::move(clock)) {}

  // Unreachable: blocking calls throw, health() is not ready. Any thread.
  void set_reachable(bool reachable) { reachable_.store(reachable); }
  // Blocking calls record the thread they ran on (to show they left the caller's thread).
  [[nodiscard]] std::vector<std::thread::id> call_threads() const {
    std::lock_guard lock(mutex_);
    return call_threads_;
  }

  [[nodiscard]] presence::Time now() const override { return inner_.now(); }
  [[nodiscard]] bool may_block() const noexcept override { return true; }
  [[nodiscard]] presence::StoreHealth health() const override {
    return {.ready = reachable_.load(), .errors_total = errors_.load(), .detail = reachable_ ? "" : "test: unreachable"};
  }
  void set_event_listener(std::function<void()> listener) override {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
  }

  [[nodiscard]] presence::BeatResult beat(const presence::BeatRequest& request) override {
    enter();
    return inner_.beat(request);
  }
  [[nodiscard]] std::optional<presence::ClientView> find(std::string_view id) const override {
    enter();
    return inner_.find(id);
  }
  [[nodiscard]] std::optional<presence::ClientDetail> detail(std::string_view id) const override {
    enter();
    return inner_.detail(id);
  }
  bool remove(std::string_view id) override {
    enter();
    return inner_.remove(id);
  }
  [[nodiscard]] presence::Listing list(const presence::ListFilter& filter) const override {
    enter();
    return inner_.list(filter);
  }
  std::vector<presence::PresenceEvent> tick() override {
    enter();
    return inner_.tick();
  }
  [[nodiscard]] std::optional<std::vector<presence::PresenceEvent>> events_after(
      std::uint64_t sequence) const override {
    return inner_.events_after(sequence);
  }
  [[nodiscard]] std::uint64_t last_sequence() const override { return inner_.last_sequence(); }
  [[nodiscard]] std::uint64_t version() const override { return inner_.version(); }
  [[nodiscard]] presence::StoreCounters counters() const override { return inner_.counters(); }
  [[nodiscard]] std::vector<presence::ClientView> take_beaten(std::size_t max) override {
    enter();
    return inner_.take_beaten(max);
  }
  [[nodiscard]] std::vector<presence::ClientView> export_clients() const override {
    enter();
    return inner_.export_clients();
  }
  std::size_t restore(const std::vector<presence::ClientView>& clients) override {
    enter();
    return inner_.restore(clients);
  }

 private:
  void enter() const {
    {
      std::lock_guard lock(mutex_);
      call_threads_.push_back(std::this_thread::get_id());
    }
    if (!reachable_.load()) {
      errors_.fetch_add(1);
      throw presence::StoreUnavailable("test: unreachable");
    }
  }

  presence::PresenceRegistry inner_;
  std::atomic<bool> reachable_{true};
  mutable std::atomic<std::uint64_t> errors_{0};
  mutable std::mutex mutex_;
  mutable std::vector<std::thread::id> call_threads_;  // guarded by mutex_
  std::function<void()> listener_;                     // guarded by mutex_
};

}  // namespace pulse::testing
