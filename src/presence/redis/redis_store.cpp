// RedisStore: the PresenceStore interface over the Lua scripts, the pool and the event mirror.
// The rules themselves live in scripts/*.lua; this file validates, calls, and decodes.
#include "pulse/presence/redis_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "pulse/base/log.hpp"
#include "pulse/base/parse.hpp"
#include "pulse/presence/redis/connection.hpp"
#include "pulse/presence/redis/connection_pool.hpp"
#include "pulse/presence/redis/connector.hpp"
#include "pulse/presence/redis/event_follower.hpp"
#include "pulse/presence/redis/event_mirror.hpp"
#include "pulse/presence/redis/record_codec.hpp"
#include "pulse/presence/redis/scripts.hpp"
#include "pulse/presence/redis/synced_clock.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::presence {
namespace {

using redis::Command;
using redis::Connection;
using redis::ConnectionError;
using redis::ProtocolError;
using redis::Reply;
using redis::Script;

// In the order of common.lua's KEYS.
// "history:" is the prefix of the per-client history lists, not a key itself.
constexpr std::string_view kKeyNames[] = {"clients", "deadlines", "beaten",   "events", "stats", "version",
                                          "seq",     "swept_at",  "expiries", "credit", "logs",  "history:"};
enum KeyIndex : std::size_t {
  kClientsKey,
  kDeadlinesKey,
  kBeatenKey,
  kEventsKey,
  kStatsKey,
  kVersionKey,
  kSeqKey,
  kSweptKey,
  kExpiriesKey,
  kCreditKey,
  kLogsKey,
  kHistoryKey
};
// The counters in {prefix}stats, in the order learn_status() reads them (common.lua's STAT_FIELDS).
constexpr std::string_view kStatFields[] = {
    "beats_total", "transitions_total", "rate_limited_total", "rejected_full_total", "up", "late", "down", "failing",
    "paused"};
// Restored records per script call: each call holds Redis for a moment only.
constexpr std::size_t kRestoreBatch = 500;
// A sweep that keeps finding a full batch stops after this many, and goes on at the next tick.
constexpr int kMaxSweepBatchesPerTick = 100;

// The replies that mean Redis cannot do it now, though the connection is fine.
bool means_busy(const Reply& reply) noexcept {
  const auto code = reply.error_code();
  return code == "BUSY" || code == "OOM" || code == "NOREPLICAS" || code == "TRYAGAIN" || code == "MISCONF" ||
         code == "CLUSTERDOWN";
}

// The connection answers as a replica (or is loading): drop it and find the primary again.
class NotPrimary : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The results of a MULTI ... EXEC pipeline (`count` commands between), or why not.
const std::vector<Reply>& transaction_results(const Connection& connection, const std::vector<Reply>& replies,
                                              std::size_t count, std::string_view action) {
  const Reply& results = replies.back();
  for (const Reply& reply : replies) {
    if (means_not_primary(reply)) throw NotPrimary(fmt::format("redis {}: {}", connection.peer(), reply.text));
  }
  if (means_busy(results)) throw StoreUnavailable(fmt::format("redis {}: {}", connection.peer(), results.text));
  if (results.is_error()) throw ProtocolError(fmt::format("redis: {}: {}", action, results.text));
  const auto& parts = results.as_array();
  if (parts.size() != count) throw ProtocolError(fmt::format("redis: {}: a transaction of an unknown shape", action));
  return parts;
}

std::string decimal(std::integral auto value) {
  return fmt::format("{}", value);
}

std::uint64_t unsigned_of(const Reply& reply) {
  return static_cast<std::uint64_t>(std::max<long long>(reply.as_integer(0), 0));
}

// An rid is shown like a message (JSON, the page): the same rules, and its own length.
bool run_id_valid(std::string_view rid) {
  return rid.size() <= kMaxRunIdBytes && !message_error(rid);
}

// The registry's rule for restored entries (presence_registry.cpp).
bool settings_valid(const ClientView& client) {
  return !client_id_error(client.id) && !message_error(client.message) && !remote_addr_error(client.remote_addr) &&
         client.interval >= kMinInterval && client.interval <= kMaxInterval && client.grace >= kMinGrace &&
         client.grace <= kMaxGrace && client.runs.size() <= kMaxOpenRuns &&
         std::all_of(client.runs.begin(), client.runs.end(),
                     [](const OpenRun& run) { return run_id_valid(run.rid); }) &&
         (!client.last_duration || *client.last_duration >= std::chrono::milliseconds(0));
}

std::vector<std::string> make_keys(const std::string& prefix) {
  std::vector<std::string> keys;
  for (const auto name : kKeyNames) keys.push_back(prefix + std::string(name));
  return keys;
}

RedisStoreOptions checked(RedisStoreOptions options) {
  if (options.url.transport != RedisTransport::kUnix && options.url.hosts.empty()) {
    throw std::invalid_argument("the Redis store needs a URL naming a server");
  }
  if (options.max_clients == 0) throw std::invalid_argument("the Redis store needs max_clients of at least 1");
  if (options.wait_replicas < 0) throw std::invalid_argument("wait_replicas cannot be negative");
  if (options.wait_replicas > 0 && options.wait_timeout >= options.command_timeout) {
    throw std::invalid_argument("the WAIT timeout must be shorter than the command timeout");
  }
  if (options.sweep_batch == 0) options.sweep_batch = 1;
  options.history_length = std::min(options.history_length, kMaxHistoryLength);
  return options;
}

constexpr base::LogContext kConnecting{.action = "connecting to Redis"};

}  // namespace

RedisStore::RedisStore(RedisStoreOptions options)
    : options_(checked(std::move(options))),
      keys_(make_keys(options_.prefix)),
      synced_clock_(options_.clock ? nullptr : std::make_shared<redis::SyncedClock>()),
      clock_(options_.clock ? options_.clock : std::static_pointer_cast<const Clock>(synced_clock_)),
      rate_emission_us_(options_.max_beats_per_second == 0 ? 0 : 1'000'000 / options_.max_beats_per_second),
      rate_tolerance_us_(options_.max_beats_per_second == 0 ? 0
                                                            : rate_emission_us_ * (options_.max_beats_per_second - 1)) {
  const redis::ConnectionTimeouts timeouts{options_.connect_timeout, options_.command_timeout};
  connector_ =
      std::make_unique<redis::Connector>(options_.url, options_.password, options_.sentinel_password, timeouts);
  pool_ = std::make_unique<redis::ConnectionPool>(
      options_.pool_size, [this] { return open_connection(); }, options_.command_timeout);
  mirror_ = std::make_unique<redis::EventMirror>(options_.event_history, keys_[kEventsKey], keys_[kSeqKey],
                                                 [this] { return static_cast<std::uint64_t>(now_micros()); });

  // Best effort, so that the first calls find the mirror primed and the beaten cursor set; when
  // Redis is away the follower and the first calls catch up later.
  try {
    auto lease = pool_->acquire();
    (void)mirror_->verify_or_prime(*lease);
    std::lock_guard lock(beaten_mutex_);
    beaten_cursor_ = unsigned_of(lease->command({"GET", keys_[kVersionKey]}));
  } catch (const StoreUnavailable& error) {
    base::log_warning(kConnecting, "{}: starting without it, will retry", error.what());
  } catch (const ConnectionError& error) {
    pool_->report_failure(error.what());
    base::log_warning(kConnecting, "{}: starting without it, will retry", error.what());
  }
  follower_ = std::make_unique<redis::EventFollower>(*connector_, *mirror_, [this] { notify_listener(); });
  follower_->start(std::nullopt);
}

RedisStore::~RedisStore() {
  follower_->stop();
}

Connection RedisStore::open_connection() {
  Connection connection = connector_->open();
  load_scripts(connection);
  sync_clock(connection);
  return connection;
}

void RedisStore::load_scripts(Connection& connection) const {
  std::vector<Command> loads;
  for (const Script script : redis::kAllScripts) {
    loads.push_back({"SCRIPT", "LOAD", std::string(redis::script_source(script))});
  }
  const auto replies = connection.pipeline(loads);
  std::lock_guard lock(scripts_mutex_);
  for (const Script script : redis::kAllScripts) {
    const Reply& reply = replies[redis::index_of(script)];
    if (means_not_primary(reply)) throw ConnectionError(fmt::format("redis {}: {}", connection.peer(), reply.text));
    if (reply.is_error()) {
      throw ProtocolError(fmt::format("redis: the {} script does not load: {}", to_string(script), reply.text));
    }
    shas_[redis::index_of(script)] = reply.as_string();
  }
}

void RedisStore::sync_clock(Connection& connection) {
  if (!synced_clock_) return;
  const auto sent = redis::SyncedClock::Steady::now();
  const Reply time = connection.command({"TIME"});
  const auto received = redis::SyncedClock::Steady::now();
  const auto& parts = time.as_array();
  if (parts.size() != 2) throw ProtocolError("redis: TIME did not answer [seconds, microseconds]");
  const auto since_epoch =
      std::chrono::seconds(parts[0].as_integer()) + std::chrono::microseconds(parts[1].as_integer());
  synced_clock_->sync(Time(std::chrono::duration_cast<Time::duration>(since_epoch)), sent, received);
}

template <typename Work>
auto RedisStore::with_connection(std::string_view action, Work&& work) const {
  auto fail = [&](const std::string& why) {
    errors_total_.fetch_add(1, std::memory_order_relaxed);
    base::log_warning({.action = action}, "{}", why);
    pool_->report_failure(why);
  };
  // A connection that died while idle (Redis restarted meanwhile) says nothing about Redis now:
  // the call is made once more on a new connection before it counts as a failure. Redis may
  // have run a write just before it went away, so a beat can count twice then; it is never lost.
  for (int attempt = 0;; ++attempt) {
    std::optional<redis::ConnectionPool::Lease> lease;
    try {
      lease.emplace(pool_->acquire());
    } catch (const StoreUnavailable&) {
      errors_total_.fetch_add(1, std::memory_order_relaxed);
      throw;
    }
    try {
      return work(**lease);
    } catch (const ConnectionError& error) {
      lease->discard();
      // Not after a timeout: a stopped Redis would make the caller wait twice as long.
      if (attempt == 0 && lease->reused() && !error.timed_out()) {
        lease.reset();
        pool_->drop_idle();
        continue;
      }
      fail(error.what());
      throw StoreUnavailable(error.what());
    } catch (const NotPrimary& error) {
      lease->discard();
      fail(error.what());
      throw StoreUnavailable(error.what());
    } catch (const StoreUnavailable&) {
      // Redis answered, but could not do it now (busy, too few replicas): the link is fine.
      errors_total_.fetch_add(1, std::memory_order_relaxed);
      throw;
    }
  }
}

std::int64_t RedisStore::now_micros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_->now().time_since_epoch()).count();
}

Time RedisStore::now() const {
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::microseconds(now_micros())));
}

Reply RedisStore::run_script(Connection& connection, Script script, const std::vector<std::string>& args,
                             bool writes) const {
  const auto common = [&] {
    std::string sha;
    {
      std::lock_guard lock(scripts_mutex_);
      sha = shas_[redis::index_of(script)];
    }
    Command command{"EVALSHA", std::move(sha), decimal(keys_.size())};
    command.insert(command.end(), keys_.begin(), keys_.end());
    command.push_back(decimal(now_micros()));
    command.push_back(
        decimal(std::chrono::duration_cast<std::chrono::microseconds>(options_.outage_credit_after).count()));
    command.push_back(decimal(options_.event_history));
    command.push_back(decimal(std::chrono::duration_cast<std::chrono::microseconds>(options_.retention).count()));
    command.push_back(decimal(options_.history_length));
    command.insert(command.end(), args.begin(), args.end());
    return command;
  };
  const bool wait = writes && options_.wait_replicas > 0;
  std::vector<Command> commands{common()};
  if (wait) commands.push_back({"WAIT", decimal(options_.wait_replicas), decimal(options_.wait_timeout.count())});

  auto replies = connection.pipeline(commands);
  if (replies[0].error_code() == "NOSCRIPT") {
    // Redis restarted, failed over or flushed its scripts: load them again and retry once.
    load_scripts(connection);
    commands[0] = common();
    replies = connection.pipeline(commands);
  }
  const Reply& reply = replies[0];
  if (means_not_primary(reply)) throw NotPrimary(fmt::format("redis {}: {}", connection.peer(), reply.text));
  if (means_busy(reply)) throw StoreUnavailable(fmt::format("redis {}: {}", connection.peer(), reply.text));
  if (reply.is_error())
    throw ProtocolError(fmt::format("redis: the {} script failed: {}", to_string(script), reply.text));
  if (wait) {
    const long long acknowledged = replies[1].as_integer(0);
    if (acknowledged < options_.wait_replicas) {
      throw StoreUnavailable(fmt::format("redis {}: {} of {} replicas acknowledged the write within {} ms",
                                         connection.peer(), acknowledged, options_.wait_replicas,
                                         options_.wait_timeout.count()));
    }
  }
  return std::move(replies[0]);
}

RedisStore::Status RedisStore::learn_status(const Reply& reply) const {
  const auto& parts = reply.as_array();
  if (parts.size() != 3) throw ProtocolError("redis: a status that is not [version, seq, stats]");
  Status status;
  status.version = unsigned_of(parts[0]);
  status.sequence = unsigned_of(parts[1]);
  const auto& stats = parts[2].as_array();
  if (stats.size() != std::size(kStatFields)) {
    throw ProtocolError(fmt::format("redis: a status without its {} counters", std::size(kStatFields)));
  }
  StoreCounters& counters = status.counters;
  counters.beats_total = unsigned_of(stats[0]);
  counters.transitions_total = unsigned_of(stats[1]);
  counters.rate_limited_total = unsigned_of(stats[2]);
  counters.rejected_full_total = unsigned_of(stats[3]);
  counters.clients.by_state[index_of(ClientState::kUp)] = unsigned_of(stats[4]);
  counters.clients.by_state[index_of(ClientState::kLate)] = unsigned_of(stats[5]);
  counters.clients.by_state[index_of(ClientState::kDown)] = unsigned_of(stats[6]);
  counters.clients.by_state[index_of(ClientState::kFailing)] = unsigned_of(stats[7]);
  counters.clients.by_state[index_of(ClientState::kPaused)] = unsigned_of(stats[8]);

  std::lock_guard lock(status_mutex_);
  // Replies from several threads arrive in any order; the version (which never goes back, even
  // when Redis loses its data: it restarts from the clock) says which is newer. Refusals do not
  // change the version, so at the same version the refusal counters take the larger value.
  if (status.version > status_.version) {
    status_ = status;
  } else if (status.version == status_.version) {
    StoreCounters& cached = status_.counters;
    cached.rate_limited_total = std::max(cached.rate_limited_total, counters.rate_limited_total);
    cached.rejected_full_total = std::max(cached.rejected_full_total, counters.rejected_full_total);
    status_.sequence = std::max(status_.sequence, status.sequence);
  }
  return status;
}

void RedisStore::learn_events(Connection& connection, std::uint64_t seen_before, const Status& status,
                              const Reply* produced) const {
  std::vector<PresenceEvent> events;
  if (produced != nullptr) events = redis::EventMirror::decode_entries(*produced);
  if (mirror_->catch_up(connection, seen_before, status.sequence, std::move(events))) notify_listener();
}

// The listener runs with listener_mutex_ held, so that set_event_listener() waits out a call in
// progress: once it returns, the old listener is neither running nor about to run, and its owner
// (HeartbeatService, clearing it in stop()) may be destroyed. A copy called outside the lock
// could still be signalling the service's condition variable while it was destroyed.
void RedisStore::notify_listener() const {
  std::lock_guard lock(listener_mutex_);
  if (listener_) listener_();
}

void RedisStore::set_event_listener(std::function<void()> listener) {
  std::lock_guard lock(listener_mutex_);
  listener_ = std::move(listener);
}

StoreHealth RedisStore::health() const {
  const auto status = pool_->status();
  StoreHealth health;
  health.ready = status.state == redis::PoolState::kReady;
  health.errors_total = errors_total_.load(std::memory_order_relaxed);
  if (status.state == redis::PoolState::kFresh) {
    health.detail = "not connected to Redis yet";
  } else if (!health.ready) {
    health.detail = status.detail;
  } else if (!follower_->following()) {
    health.detail = "the event follower is reconnecting";
  }
  return health;
}

namespace {

std::string_view script_signal(Signal signal) noexcept {
  switch (signal) {
    case Signal::kBeat: return "beat";
    case Signal::kStart: return "start";
    case Signal::kFail: return "fail";
    case Signal::kExit: return "exit";
    case Signal::kPause: return "pause";
    case Signal::kHold: return "hold";
    case Signal::kAlive: return "alive";
    case Signal::kRelease: return "release";
  }
  return "beat";
}

bool request_valid(const BeatRequest& request) {
  if (client_id_error(request.id) || message_error(request.message)) return false;
  if (request.interval && (*request.interval < kMinInterval || *request.interval > kMaxInterval)) return false;
  if (request.grace && (*request.grace < kMinGrace || *request.grace > kMaxGrace)) return false;
  if (!run_id_valid(request.run_id)) return false;
  if (request.log && request.log->size() > kMaxLogBytes) return false;
  if (request.signal == Signal::kExit && !request.exit_code) return false;
  return true;
}

std::int64_t micros_of(std::chrono::seconds duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

}  // namespace

BeatResult RedisStore::beat(const BeatRequest& request) {
  BeatResult result;
  if (!request_valid(request)) {
    result.outcome = BeatOutcome::kInvalid;
    return result;
  }
  // Sticky settings: what is not given the script takes from the client (or, for a new id, from
  // these defaults). An interval given alone brings its default grace.
  std::string interval;
  std::string grace;
  if (request.interval) interval = decimal(request.interval->count());
  if (request.grace) {
    grace = decimal(request.grace->count());
  } else if (request.interval) {
    grace = decimal(default_grace(*request.interval).count());
  }
  const bool takes_health = request.signal == Signal::kBeat && request.health.has_value();
  return with_connection("recording a beat", [&](Connection& connection) {
    const std::uint64_t seen_before = mirror_->last_sequence();
    const Reply reply = run_script(
        connection, Script::kBeat,
        {std::string(script_signal(request.signal)), request.id, interval, grace,
         decimal(options_.default_interval.count()), decimal(default_grace(options_.default_interval).count()),
         takes_health ? std::string(to_string(*request.health)) : std::string(),
         request.exit_code ? decimal(unsigned{*request.exit_code}) : std::string(), request.run_id, request.message,
         request.remote_addr.substr(0, kMaxRemoteAddrBytes), request.log ? "1" : "0",
         request.log.value_or(std::string()), decimal(options_.max_clients), decimal(rate_emission_us_),
         decimal(rate_tolerance_us_), decimal(micros_of(kHoldRefresh)), decimal(micros_of(kHoldGrace))},
        /*writes=*/true);
    const auto& parts = reply.as_array();
    if (parts.size() != 6) throw ProtocolError("redis: the beat script answered in an unknown shape");
    const Status status = learn_status(parts[1]);
    const std::string& outcome = parts[0].as_string();
    if (outcome == "full") {
      result.outcome = BeatOutcome::kFull;
      return result;
    }
    if (outcome == "rate_limited") {
      result.outcome = BeatOutcome::kRateLimited;
      return result;
    }
    if (outcome == "not_found") {
      result.outcome = BeatOutcome::kNotFound;
      return result;
    }
    result.outcome = outcome == "created" ? BeatOutcome::kCreated : BeatOutcome::kUpdated;
    result.client = redis::decode_client(parts[2].as_string());
    if (const std::string& previous = parts[3].as_string(); !previous.empty()) {
      result.previous = client_state_from_string(previous);
    }
    if (const std::string& duration = parts[5].as_string(); !duration.empty()) {
      const auto micros = base::parse_decimal<std::uint64_t>(duration);
      if (!micros) throw ProtocolError("redis: the beat script answered a duration that is not microseconds");
      result.run_duration = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::microseconds(static_cast<std::int64_t>(*micros)));
    }
    auto events = redis::EventMirror::decode_entries(parts[4]);
    if (!events.empty()) result.event = events.back();
    learn_events(connection, seen_before, status, &parts[4]);
    return result;
  });
}

std::optional<ClientView> RedisStore::find(std::string_view id) const {
  return with_connection("finding a client", [&](Connection& connection) -> std::optional<ClientView> {
    const auto replies = connection.pipeline(
        {{"MULTI"}, {"HGET", keys_[kClientsKey], std::string(id)}, {"GET", keys_[kCreditKey]}, {"EXEC"}});
    const auto& parts = transaction_results(connection, replies, 2, "finding a client");
    if (parts[0].is_nil()) return std::nullopt;
    return redis::decode_client(parts[0].as_string(), parts[1].as_integer(0));
  });
}

std::optional<ClientDetail> RedisStore::detail(std::string_view id) const {
  return with_connection("reading a client's detail", [&](Connection& connection) -> std::optional<ClientDetail> {
    // One transaction: the record, its log and its history as of one instant.
    const auto replies =
        connection.pipeline({{"MULTI"},
                             {"HGET", keys_[kClientsKey], std::string(id)},
                             {"GET", keys_[kCreditKey]},
                             {"HGET", keys_[kLogsKey], std::string(id)},
                             // The last history_length, should a replica with a longer one have written more.
                             {"LRANGE", keys_[kHistoryKey] + std::string(id),
                              decimal(-static_cast<long long>(options_.history_length)), "-1"},
                             {"EXEC"}});
    const auto& parts = transaction_results(connection, replies, 4, "reading a client's detail");
    if (parts[0].is_nil()) return std::nullopt;
    ClientDetail detail;
    detail.client = redis::decode_client(parts[0].as_string(), parts[1].as_integer(0));
    if (!parts[2].is_nil()) detail.log = parts[2].as_string();
    if (options_.history_length > 0) {
      for (const Reply& line : parts[3].as_array()) {
        detail.history.push_back(redis::decode_history_entry(line.as_string()));
      }
    }
    return detail;
  });
}

bool RedisStore::remove(std::string_view id) {
  return with_connection("signing a client off", [&](Connection& connection) {
    const std::uint64_t seen_before = mirror_->last_sequence();
    const Reply reply = run_script(connection, Script::kRemove, {std::string(id)}, /*writes=*/true);
    const auto& parts = reply.as_array();
    if (parts.size() != 3) throw ProtocolError("redis: the remove script answered in an unknown shape");
    const Status status = learn_status(parts[1]);
    learn_events(connection, seen_before, status, &parts[2]);
    return parts[0].as_integer() == 1;
  });
}

Listing RedisStore::list(const ListFilter& filter) const {
  return with_connection("listing clients", [&](Connection& connection) {
    const std::uint64_t seen_before = mirror_->last_sequence();
    // One transaction of plain reads: the clients, the version, the sequence and the counters
    // at one instant. With a prefix the ids come too, so only matching records are decoded.
    const bool by_prefix = !filter.prefix.empty();
    Command stats{"HMGET", keys_[kStatsKey]};
    stats.insert(stats.end(), std::begin(kStatFields), std::end(kStatFields));
    const auto replies = connection.pipeline({{"MULTI"},
                                              {by_prefix ? "HGETALL" : "HVALS", keys_[kClientsKey]},
                                              {"GET", keys_[kVersionKey]},
                                              {"GET", keys_[kSeqKey]},
                                              std::move(stats),
                                              {"GET", keys_[kCreditKey]},
                                              {"EXEC"}});
    const auto& parts = transaction_results(connection, replies, 5, "listing clients");
    const long long credit = parts[4].as_integer(0);
    Reply status;
    status.type = Reply::Type::kArray;
    status.elements = {parts[1], parts[2], parts[3]};
    const Status learned = learn_status(status);

    Listing listing;
    listing.version = learned.version;
    listing.sequence = learned.sequence;
    listing.counts = learned.counters.clients;
    const auto& records = parts[0].as_array();
    const std::size_t step = by_prefix ? 2 : 1;
    for (std::size_t i = 0; i + step - 1 < records.size(); i += step) {
      if (by_prefix && !records[i].as_string().starts_with(filter.prefix)) continue;
      ClientView client = redis::decode_client(records[i + step - 1].as_string(), credit);
      if (filter.matches(client)) listing.clients.push_back(std::move(client));
    }
    std::sort(listing.clients.begin(), listing.clients.end(),
              [](const ClientView& a, const ClientView& b) { return a.id < b.id; });
    // So that events_after(listing.sequence) works at once: a snapshot's watcher goes on from it.
    learn_events(connection, seen_before, learned, nullptr);
    return listing;
  });
}

std::vector<PresenceEvent> RedisStore::tick() {
  return with_connection("sweeping deadlines", [&](Connection& connection) {
    sync_clock(connection);
    std::vector<PresenceEvent> produced;
    for (int batch = 0; batch < kMaxSweepBatchesPerTick; ++batch) {
      const std::uint64_t seen_before = mirror_->last_sequence();
      const Reply reply = run_script(connection, Script::kSweep, {decimal(options_.sweep_batch)}, /*writes=*/true);
      const auto& parts = reply.as_array();
      if (parts.size() != 3) throw ProtocolError("redis: the sweep script answered in an unknown shape");
      const Status status = learn_status(parts[1]);
      auto events = redis::EventMirror::decode_entries(parts[2]);
      produced.insert(produced.end(), events.begin(), events.end());
      learn_events(connection, seen_before, status, &parts[2]);
      if (static_cast<std::size_t>(parts[0].as_integer()) < options_.sweep_batch) break;
    }
    return produced;
  });
}

std::optional<std::vector<PresenceEvent>> RedisStore::events_after(std::uint64_t sequence) const {
  return mirror_->after(sequence);
}

std::uint64_t RedisStore::last_sequence() const {
  return mirror_->last_sequence();
}

std::uint64_t RedisStore::version() const {
  std::lock_guard lock(status_mutex_);
  return status_.version;
}

StoreCounters RedisStore::counters() const {
  std::lock_guard lock(status_mutex_);
  return status_.counters;
}

std::vector<ClientView> RedisStore::take_beaten(std::size_t max) {
  std::lock_guard lock(beaten_mutex_);
  return with_connection("reading recent beats", [&](Connection& connection) {
    std::vector<ClientView> taken;
    if (!beaten_cursor_) {
      // Redis was away when this store started: begin from now.
      beaten_cursor_ = unsigned_of(connection.command({"GET", keys_[kVersionKey]}));
      return taken;
    }
    if (max == 0) return taken;
    const Reply reply =
        run_script(connection, Script::kTakeBeaten, {decimal(*beaten_cursor_), decimal(max)}, /*writes=*/false);
    const auto& parts = reply.as_array();
    if (parts.size() != 2) throw ProtocolError("redis: the take_beaten script answered in an unknown shape");
    for (const Reply& record : parts[0].as_array()) taken.push_back(redis::decode_client(record.as_string()));
    beaten_cursor_ = unsigned_of(parts[1]);
    return taken;
  });
}

std::vector<ClientView> RedisStore::export_clients() const {
  return with_connection("exporting clients", [&](Connection& connection) {
    const auto replies =
        connection.pipeline({{"MULTI"}, {"HVALS", keys_[kClientsKey]}, {"GET", keys_[kCreditKey]}, {"EXEC"}});
    const auto& parts = transaction_results(connection, replies, 2, "exporting clients");
    const long long credit = parts[1].as_integer(0);
    std::vector<ClientView> clients;
    for (const Reply& record : parts[0].as_array()) clients.push_back(redis::decode_client(record.as_string(), credit));
    return clients;
  });
}

std::size_t RedisStore::restore(const std::vector<ClientView>& clients) {
  std::vector<std::string> records;
  for (const ClientView& client : clients) {
    if (settings_valid(client)) records.push_back(redis::encode_client(client));
  }
  std::size_t restored = 0;
  for (std::size_t first = 0; first < records.size(); first += kRestoreBatch) {
    const std::size_t last = std::min(records.size(), first + kRestoreBatch);
    restored += with_connection("restoring clients", [&](Connection& connection) {
      std::vector<std::string> args{decimal(options_.max_clients)};
      args.insert(args.end(), records.begin() + static_cast<std::ptrdiff_t>(first),
                  records.begin() + static_cast<std::ptrdiff_t>(last));
      const Reply reply = run_script(connection, Script::kRestore, args, /*writes=*/true);
      const auto& parts = reply.as_array();
      if (parts.size() != 2) throw ProtocolError("redis: the restore script answered in an unknown shape");
      (void)learn_status(parts[1]);
      return static_cast<std::size_t>(parts[0].as_integer());
    });
  }
  return restored;
}

}  // namespace pulse::presence
