// HeartbeatService: owns the store, the event streams and the handlers, and runs the sweeper
// thread (transitions, event fan-out, keep-alives, state-file saves).
#include "pulse/handlers/heartbeat/service.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <stdexcept>
#include <mutex>
#include <thread>
#include <utility>

#include "pulse/base/log.hpp"
#include "pulse/base/task_pool.hpp"
#include "pulse/handlers/heartbeat/alert_sink.hpp"
#include "pulse/handlers/heartbeat/api.hpp"
#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/handlers/heartbeat/hold.hpp"
#include "pulse/presence/presence_registry.hpp"
#include "pulse/presence/state_file.hpp"

namespace pulse::handlers::heartbeat {
namespace {

constexpr base::LogContext kLoading{.action = "loading the heartbeat state file"};
constexpr base::LogContext kSaving{.action = "saving the heartbeat state file"};
constexpr base::LogContext kSweeping{.action = "sweeping the presence store"};

presence::RegistryOptions registry_options(const HeartbeatOptions& options) {
  presence::RegistryOptions registry;
  registry.default_interval = options.default_interval;
  registry.retention = options.retention;
  registry.max_clients = options.max_clients;
  registry.history_length = options.history_length;
  return registry;
}

// A store in this process answers at once, but a big list takes a while to render: one thread
// renders those, and the queue is short because waiting requests share one render.
std::unique_ptr<base::TaskPool> render_threads(const presence::PresenceStore& store) {
  if (store.may_block()) return nullptr;  // every call already runs on the store threads
  return std::make_unique<base::TaskPool>(kRenderThreads, kRenderQueueCapacity, "pulse-render");
}

std::unique_ptr<base::TaskPool> store_threads(const presence::PresenceStore& store) {
  if (!store.may_block()) return nullptr;
  return std::make_unique<base::TaskPool>(kStoreThreads, kStoreQueueCapacity, "pulse-store");
}

}  // namespace

struct HeartbeatService::Impl {
  Impl(HeartbeatOptions heartbeat_options, std::shared_ptr<presence::PresenceStore> store_in)
      : options(std::move(heartbeat_options)),
        store(std::move(store_in)),
        store_calls(store_threads(*store)),
        render_calls(render_threads(*store)),
        streams(*store, options.streams),
        holds(std::make_shared<HoldRegistry>(*store, options.holds, [this] { request_publish(); })),
        api(*store, streams, [this] { request_publish(); }, store_calls.get(), &request_metrics, holds.get()) {
    holds->set_observers(nullptr, &request_metrics);
    api.set_render_pool(render_calls.get());
    // Another replica's changes reach this one's watchers as soon as the store learns of them.
    store->set_event_listener([this] { request_publish(); });
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { stop(); }

  void start();
  void stop();
  void sweep(bool with_digest);
  void run_sweeper();
  // Any thread: wakes the sweeper to send new events now rather than at its next tick.
  void request_publish();
  void load_state();
  void save_state(bool force);

  const HeartbeatOptions options;
  const std::shared_ptr<presence::PresenceStore> store;
  std::unique_ptr<base::TaskPool> store_calls;  // when the store's calls may block
  std::unique_ptr<base::TaskPool> render_calls;  // when they do not: big lists and snapshots
  EventStreams streams;
  RequestMetrics request_metrics;  // before the API, which records into it
  // Shared so that a connection's detach hook, which may outlive the service, can tell it is gone.
  const std::shared_ptr<HoldRegistry> holds;
  HeartbeatApi api;

  std::mutex mutex;
  std::condition_variable wake;    // with mutex
  bool publish_requested = false;  // guarded by mutex
  bool started = false;            // guarded by mutex
  bool stopped = false;            // guarded by mutex
  std::thread sweeper;
  std::shared_ptr<AlertSink> alerts;  // set before start(); the API holds a plain pointer to it

  std::mutex save_mutex;            // one save at a time (timer and stop())
  std::uint64_t saved_version = 0;  // guarded by save_mutex
};

void HeartbeatService::Impl::start() {
  {
    std::lock_guard lock(mutex);
    if (started || stopped) return;
    started = true;
  }
  if (options.state_file) load_state();
  sweeper = std::thread([this] { run_sweeper(); });
}

void HeartbeatService::Impl::stop() {
  bool was_started = false;
  {
    std::lock_guard lock(mutex);
    if (stopped) return;
    stopped = true;
    was_started = started;
  }
  wake.notify_all();
  if (sweeper.joinable()) sweeper.join();
  // Requests still queued for the store are answered 503 as their tasks are dropped.
  if (store_calls) store_calls->stop();
  if (render_calls) render_calls->stop();
  store->set_event_listener({});
  // Held connections first: their releases are changes the event streams would be told of.
  holds->close_all();
  streams.close_all();
  // Never save a registry that was not loaded first: that would overwrite the file with nothing.
  if (was_started && options.state_file) save_state(/*force=*/true);
}

void HeartbeatService::Impl::request_publish() {
  {
    std::lock_guard lock(mutex);
    publish_requested = true;
  }
  wake.notify_one();
}

void HeartbeatService::Impl::sweep(bool with_digest) {
  holds->release_dropped();
  const auto events = store->tick();
  // tick() returns only the transitions this replica made: each alert leaves one replica.
  if (alerts) {
    for (const auto& event : events) alerts->on_event(event);
  }
  streams.publish();
  // Nobody to tell: leave the list (bounded by the number of clients) for the next stream.
  if (with_digest && streams.size() > 0) streams.publish_beats(store->take_beaten(kMaxBeatDigestClients));
}

void HeartbeatService::Impl::run_sweeper() {
  using Steady = std::chrono::steady_clock;
  const auto started_at = Steady::now();
  auto next_sweep = started_at + kSweepPeriod;
  auto next_digest = started_at + kBeatDigestPeriod;
  auto next_keep_alive = started_at + kEventKeepAlivePeriod;
  auto next_hold_refresh = started_at + holds->keep_alive_period();
  auto next_save = started_at + kStateSavePeriod;
  bool store_away = false;

  std::unique_lock lock(mutex);
  while (!stopped) {
    const auto deadline = std::min({next_sweep, next_digest, next_keep_alive, next_hold_refresh, next_save});
    wake.wait_until(lock, deadline, [this] { return stopped || publish_requested; });
    if (stopped) break;
    publish_requested = false;
    lock.unlock();
    // One failed pass (say, out of memory rendering a snapshot) must not end the sweeper.
    try {
      const auto now = Steady::now();
      // A dropped hold is released at once (it was what woke the sweeper), before the publish
      // below tells the event streams; the refreshes keep held clients up.
      holds->release_dropped();
      if (now >= next_hold_refresh) {
        next_hold_refresh = now + holds->keep_alive_period();
        holds->refresh();
      }
      if (now >= next_sweep) {
        const bool digest = now >= next_digest;
        sweep(digest);
        next_sweep = now + kSweepPeriod;
        if (digest) next_digest = now + kBeatDigestPeriod;
      } else {
        streams.publish();
      }
      if (now >= next_keep_alive) {
        streams.send_keep_alive();
        next_keep_alive = now + kEventKeepAlivePeriod;
      }
      if (now >= next_save) {
        if (options.state_file) save_state(/*force=*/false);
        next_save = now + kStateSavePeriod;
      }
      if (store_away) {
        base::log_info(kSweeping, "the presence store answers again");
        store_away = false;
      }
    } catch (const presence::StoreUnavailable& error) {
      // Said once per outage, not four times a second; /readyz and /metrics tell the rest.
      if (!store_away) base::log_warning(kSweeping, "the presence store cannot be reached: {}", error.what());
      store_away = true;
    } catch (const std::exception& error) {
      base::log_error(kSweeping, "{}", error.what());
    }
    lock.lock();
  }
}

void HeartbeatService::Impl::load_state() {
  const auto loaded =
      presence::load_state_file(*options.state_file, store->now(), options.max_clients);
  // No file yet is how every first start begins; anything else lost clients.
  const bool first_start = loaded.status == presence::LoadStatus::kMissing;
  for (const auto& problem : loaded.problems) {
    if (first_start) {
      base::log_info(kLoading, "{}", problem);
    } else {
      base::log_warning(kLoading, "{}", problem);
    }
  }
  if (loaded.status == presence::LoadStatus::kLoaded) {
    const std::size_t restored = store->restore(loaded.clients);
    base::log_info(kLoading, "{}: restored {} of {} clients", options.state_file->string(), restored,
                   loaded.clients.size());
  }
  std::lock_guard lock(save_mutex);
  saved_version = store->version();
}

void HeartbeatService::Impl::save_state(bool force) {
  std::lock_guard lock(save_mutex);
  // Read before exporting: a change during the export leaves the file marked dirty, not clean.
  const std::uint64_t version = store->version();
  if (!force && version == saved_version) return;
  try {
    presence::save_state_file(*options.state_file, store->export_clients(), store->now());
    saved_version = version;
  } catch (const std::exception& error) {
    base::log_error(kSaving, "{}", error.what());
  }
}

HeartbeatService::HeartbeatService(HeartbeatOptions options, std::shared_ptr<presence::Clock> clock) {
  auto registry = std::make_shared<presence::PresenceRegistry>(
      registry_options(options), clock ? std::move(clock) : std::make_shared<presence::SystemClock>());
  impl_ = std::make_shared<Impl>(std::move(options), std::move(registry));
}

HeartbeatService::HeartbeatService(HeartbeatOptions options, std::shared_ptr<presence::PresenceStore> store) {
  if (!store) throw std::invalid_argument("HeartbeatService: no presence store");
  if (options.state_file) {
    throw std::invalid_argument("a heartbeat state file belongs to the embedded store; a shared store keeps its own data");
  }
  impl_ = std::make_shared<Impl>(std::move(options), std::move(store));
}

HeartbeatService::~HeartbeatService() {
  stop();
}

std::shared_ptr<http::Handler> HeartbeatService::api_handler() {
  // Aliasing constructor: points at the member, owns the whole Impl.
  return std::shared_ptr<http::Handler>(impl_, &impl_->api);
}

std::shared_ptr<const presence::PresenceStore> HeartbeatService::store() const {
  return {impl_, impl_->store.get()};
}

std::shared_ptr<const EventStreams> HeartbeatService::event_streams() const {
  return {impl_, &impl_->streams};
}

std::shared_ptr<const RequestMetrics> HeartbeatService::request_metrics() const {
  return {impl_, &impl_->request_metrics};
}

std::shared_ptr<base::TaskPool> HeartbeatService::store_calls() const {
  if (!impl_->store_calls) return nullptr;
  return {impl_, impl_->store_calls.get()};
}

std::shared_ptr<const HoldRegistry> HeartbeatService::holds() const {
  return {impl_, impl_->holds.get()};
}

void HeartbeatService::start() {
  impl_->start();
}

void HeartbeatService::stop() {
  impl_->stop();
}

void HeartbeatService::sweep() {
  impl_->sweep(/*with_digest=*/true);
}

void HeartbeatService::set_alert_sink(std::shared_ptr<AlertSink> alerts) {
  impl_->alerts = std::move(alerts);
  impl_->api.set_alert_sink(impl_->alerts.get());
  impl_->holds->set_observers(impl_->alerts.get(), &impl_->request_metrics);
}

}  // namespace pulse::handlers::heartbeat
