// HoldRegistry: counts the held connections of each id, and turns a hold opening, being kept and
// dropping into kHold, kAlive and kRelease for the store, in the order they happened.
#include "pulse/handlers/heartbeat/hold.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include "pulse/base/log.hpp"
#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/handlers/heartbeat/json.hpp"
#include "pulse/handlers/heartbeat/request_parsing.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::handlers::heartbeat {
namespace {

using http::Request;
using http::Response;

constexpr base::LogContext kStopping{.action = "releasing held heartbeat clients at shutdown"};
constexpr std::chrono::seconds kHoldsBusyRetryAfter{5};

Response refused(HoldRegistry::Refusal refusal) {
  using Refusal = HoldRegistry::Refusal;
  switch (refusal) {
    case Refusal::kNone:
    case Refusal::kClosed: break;
    case Refusal::kServerFull:
      return with_retry_after(json_error(503, "too_many_holds", "too many connections are held"), kHoldsBusyRetryAfter);
    case Refusal::kAddressFull:
      return with_retry_after(
          json_error(503, "too_many_holds_from_address", "too many connections are held from this address"),
          kHoldsBusyRetryAfter);
    case Refusal::kIdFull:
      return with_retry_after(
          json_error(503, "too_many_holds_for_id", "this id holds too many connections already; close the old ones"),
          kHoldsBusyRetryAfter);
  }
  return json_error(503, "shutting_down", "the server is shutting down");
}

// Unique enough among the replicas of one store: two alike would only bring back the stale
// releases the token is there to tell apart.
std::string make_holder_token() {
  std::random_device entropy;
  const std::uint64_t value = (std::uint64_t{entropy()} << 32) ^ entropy();
  return fmt::format("{:016x}", value);
}

Response stream_head() {
  Response response;
  response.status = 200;
  response.set_header("Content-Type", "text/event-stream");
  response.set_header("Cache-Control", "no-store");
  // Tells nginx-style proxies not to buffer the stream: the keep-alive comments must get through.
  response.set_header("X-Accel-Buffering", "no");
  return response;
}

}  // namespace

HoldRegistry::HoldRegistry(presence::PresenceStore& store, HoldLimits limits, std::function<void()> wake)
    : store_(store), limits_(limits), wake_(std::move(wake)), token_(make_holder_token()) {}

Response HoldRegistry::open(const Request& request, const std::string& id) {
  if (request.method == http::Method::kHead) {
    // GET's headers and nothing held: the connection releases a producer-less stream at once.
    Response response = stream_head();
    response.stream = std::make_shared<http::ResponseStream>();
    return response;
  }
  presence::BeatRequest beat;
  beat.id = id;
  beat.signal = presence::Signal::kHold;
  beat.run_id = token_;
  beat.remote_addr = request.remote_addr;
  if (const auto text = request.query_param("interval")) {
    beat.interval = parse_seconds(*text, presence::kMinInterval, presence::kMaxInterval);
    if (!beat.interval) return invalid_seconds("interval", presence::kMinInterval, presence::kMaxInterval);
  }
  if (const auto text = request.query_param("grace")) {
    beat.grace = parse_seconds(*text, presence::kMinGrace, presence::kMaxGrace);
    if (!beat.grace) return invalid_seconds("grace", presence::kMinGrace, presence::kMaxGrace);
  }
  if (auto text = request.query_param("msg")) beat.message = std::move(*text);
  if (auto error = presence::message_error(beat.message)) return json_error(400, "invalid_msg", *error);

  Refusal refusal = Refusal::kNone;
  const auto entry = reserve(id, request.remote_addr, refusal);
  if (!entry) return refused(refusal);

  const std::lock_guard calls(entry->calls);
  presence::BeatResult result;
  try {
    result = store_.beat(beat);
  } catch (...) {
    unreserve(entry, request.remote_addr);
    throw;
  }
  if (auto error = store_refusal(result, "hold")) {
    unreserve(entry, request.remote_addr);
    return std::move(*error);
  }
  entry->held_in_store = true;
  note(beat.signal, result);

  // The first event goes in before anyone else can reach the stream: keep-alives come after it.
  auto stream = std::make_shared<http::ResponseStream>();
  Json data;
  data["server_time"] = format_iso8601(store_.now());
  data["client"] = client_json(result.client);
  (void)stream->write(format_sse_event(std::nullopt, "held", dump_json(data)));
  std::uint64_t serial = 0;
  {
    const std::lock_guard lock(mutex_);
    if (!closed_) {
      --entry->opening;
      serial = next_serial_++;
      entry->holds.push_back({serial, stream, request.remote_addr});
      entry->last_remote_addr = request.remote_addr;
    }
  }
  if (serial == 0) {
    // close_all() ran while the store was recording the hold, and found it not held yet.
    try {
      send_release(*entry);
    } catch (const presence::StoreUnavailable&) {
      // The client goes late after kHoldRefresh on its own.
    }
    return refused(Refusal::kClosed);
  }
  // From here the stream belongs to the connection; it tells when it lets go.
  stream->on_detached([weak = weak_from_this(), entry, serial] {
    if (auto self = weak.lock()) self->on_dropped(entry, serial);
  });
  Response response = stream_head();
  response.stream = std::move(stream);
  response.tcp_keepalive = true;
  return response;
}

std::shared_ptr<HoldRegistry::Entry> HoldRegistry::reserve(const std::string& id, const std::string& remote_addr,
                                                           Refusal& refusal) {
  const std::lock_guard lock(mutex_);
  if (closed_) {
    refusal = Refusal::kClosed;
    return nullptr;
  }
  if (total_ >= limits_.max_holds) {
    refusal = Refusal::kServerFull;
    return nullptr;
  }
  const auto address = by_address_.find(remote_addr);
  if (address != by_address_.end() && address->second >= limits_.max_per_address) {
    refusal = Refusal::kAddressFull;
    return nullptr;
  }
  const auto found = entries_.find(id);
  const std::size_t of_id = found == entries_.end() ? 0 : found->second->holds.size() + found->second->opening;
  if (of_id >= limits_.max_per_id) {
    refusal = Refusal::kIdFull;
    return nullptr;
  }
  auto& entry = found == entries_.end() ? entries_[id] : found->second;
  if (!entry) entry = std::make_shared<Entry>(id);
  ++entry->opening;
  ++total_;
  ++by_address_[remote_addr];
  return entry;
}

void HoldRegistry::unreserve(const std::shared_ptr<Entry>& entry, const std::string& remote_addr) {
  const std::lock_guard lock(mutex_);
  if (closed_) return;  // close_all() forgot every count
  --entry->opening;
  --total_;
  release_address(remote_addr);
  if (!entry->unheld()) return;
  if (entry->held_in_store) {
    // The connections that held it dropped while this one was being opened: they left the
    // release to whoever let go last, which is this failed open.
    if (!entry->release_queued) {
      entry->release_queued = true;
      release_queue_.push_back(entry);
      wake_();
    }
    return;
  }
  forget_if_unheld(entry);
}

void HoldRegistry::release_address(const std::string& remote_addr) {
  const auto address = by_address_.find(remote_addr);
  if (address == by_address_.end()) return;
  if (--address->second == 0) by_address_.erase(address);
}

void HoldRegistry::on_dropped(const std::shared_ptr<Entry>& entry, std::uint64_t serial) {
  const std::lock_guard lock(mutex_);
  if (closed_) return;
  const auto hold =
      std::find_if(entry->holds.begin(), entry->holds.end(), [serial](const Hold& h) { return h.serial == serial; });
  if (hold == entry->holds.end()) return;
  release_address(hold->remote_addr);
  entry->holds.erase(hold);
  --total_;
  if (!entry->unheld() || entry->release_queued) return;
  entry->release_queued = true;
  release_queue_.push_back(entry);
  // Under mutex_: once close_all() has set closed_, nothing calls wake_ any more, so it never
  // runs after the service that gave it began to stop.
  wake_();
}

void HoldRegistry::forget_if_unheld(const std::shared_ptr<Entry>& entry) {
  if (!entry->unheld() || entry->held_in_store || entry->release_queued) return;
  const auto found = entries_.find(entry->id);
  if (found != entries_.end() && found->second == entry) entries_.erase(found);
}

void HoldRegistry::release_if_unheld(Entry& entry) {
  {
    const std::lock_guard lock(mutex_);
    // A client that reconnected meanwhile waits on entry.calls to record its hold after this.
    if (!entry.unheld()) return;
  }
  send_release(entry);
}

void HoldRegistry::send_release(Entry& entry) {
  if (!entry.held_in_store) return;
  presence::BeatRequest release;
  release.id = entry.id;
  release.signal = presence::Signal::kRelease;
  release.run_id = token_;
  const presence::BeatResult result = store_.beat(release);  // kNotFound: signed off meanwhile
  entry.held_in_store = false;
  note(release.signal, result);
}

void HoldRegistry::release_dropped() {
  std::vector<std::shared_ptr<Entry>> queue;
  {
    const std::lock_guard lock(mutex_);
    queue.swap(release_queue_);
  }
  for (std::size_t i = 0; i < queue.size(); ++i) {
    const auto& entry = queue[i];
    try {
      const std::lock_guard calls(entry->calls);
      {
        const std::lock_guard lock(mutex_);
        entry->release_queued = false;
      }
      release_if_unheld(*entry);
      const std::lock_guard lock(mutex_);
      forget_if_unheld(entry);
    } catch (const presence::StoreUnavailable&) {
      // Kept for the next pass, in order: the store may answer again.
      const std::lock_guard lock(mutex_);
      if (!closed_) {
        for (std::size_t j = i; j < queue.size(); ++j) {
          if (queue[j]->release_queued) continue;
          queue[j]->release_queued = true;
          release_queue_.push_back(queue[j]);
        }
      }
      throw;
    }
  }
}

void HoldRegistry::refresh() {
  static const auto keep_alive = std::make_shared<const std::string>(kSseKeepAlive);
  std::vector<std::shared_ptr<Entry>> held;
  // Declared before the lock, so destroyed after it is released: a stream whose response never
  // reached a connection (its client hung up while a store thread opened the hold) has its last
  // owner here, and its destructor runs the detach hook, which takes mutex_.
  std::vector<std::shared_ptr<http::ResponseStream>> streams;
  {
    const std::lock_guard lock(mutex_);
    if (closed_) return;
    for (const auto& [id, entry] : entries_) {
      if (entry->holds.empty()) continue;
      held.push_back(entry);
      for (const auto& hold : entry->holds) {
        if (auto stream = hold.stream.lock()) streams.push_back(std::move(stream));
      }
    }
  }
  // A write that fails needs nothing here: the connection's detach hook counts the drop.
  for (const auto& stream : streams) (void)stream->write_shared(keep_alive);
  streams.clear();
  for (const auto& entry : held) {
    const std::lock_guard calls(entry->calls);
    presence::BeatRequest alive;
    alive.id = entry->id;
    alive.signal = presence::Signal::kAlive;
    alive.run_id = token_;
    {
      const std::lock_guard lock(mutex_);
      if (closed_) return;
      if (entry->holds.empty() || !entry->held_in_store) continue;
      alive.remote_addr = entry->last_remote_addr;
    }
    presence::BeatResult result = store_.beat(alive);
    if (result.outcome == presence::BeatOutcome::kNotFound) {
      // Signed off or forgotten while held: end its holds (their drops then release nothing).
      entry->held_in_store = false;
      {
        const std::lock_guard lock(mutex_);
        for (const auto& hold : entry->holds) {
          if (auto stream = hold.stream.lock()) streams.push_back(std::move(stream));
        }
      }
      // Outside mutex_, as above: closing (or dropping the last reference) runs the detach hook.
      for (const auto& stream : streams) stream->close();
      streams.clear();
      continue;
    }
    if (result.accepted() && !result.client.held) {
      // Not held in the store while a connection holds it here: released without a holder token
      // (an older replica), or the store lost it (a kAlive with this registry's token takes over a
      // client that another replica held and released, and is ignored while another replica holds
      // it). Held again, as a reconnecting client would be.
      presence::BeatRequest hold = alive;
      hold.signal = presence::Signal::kHold;
      result = store_.beat(hold);
      note(hold.signal, result);
      continue;
    }
    note(alive.signal, result);
  }
}

void HoldRegistry::close_all() {
  std::vector<std::shared_ptr<Entry>> all;
  std::vector<std::shared_ptr<http::ResponseStream>> streams;
  {
    const std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (const auto& [id, entry] : entries_) {
      all.push_back(entry);
      for (const auto& hold : entry->holds) {
        if (auto stream = hold.stream.lock()) streams.push_back(std::move(stream));
      }
    }
    release_queue_.clear();
  }
  // Each connection finishes its chunked body and closes; its detach hook then finds closed_.
  for (const auto& stream : streams) stream->close();
  bool reachable = true;
  for (const auto& entry : all) {
    const std::lock_guard calls(entry->calls);
    if (reachable) {
      try {
        send_release(*entry);
      } catch (const presence::StoreUnavailable& error) {
        // The rest would wait for the store too; unrefreshed, they go late after kHoldRefresh.
        base::log_warning(kStopping, "the presence store cannot be reached: {}", error.what());
        reachable = false;
      }
    }
    entry->held_in_store = false;
  }
  const std::lock_guard lock(mutex_);
  entries_.clear();
  by_address_.clear();
  total_ = 0;
}

void HoldRegistry::note(presence::Signal signal, const presence::BeatResult& result) {
  if (metrics_ != nullptr) metrics_->on_result(signal, result);
  if (result.event && alerts_ != nullptr) alerts_->on_event(*result.event);
  if (result.changed() && wake_) wake_();
}

std::size_t HoldRegistry::size() const {
  const std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace pulse::handlers::heartbeat
