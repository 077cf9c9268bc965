// HoldRegistry: the held connections of GET /heartbeat/{id}/hold. A client that holds one is
// known dead as soon as it drops, not after its interval and grace. The wire format
// (text/event-stream, chunked):
//
//   event: held                    once, first: the hold is recorded (Signal::kHold)
//   data: {"server_time": iso, "client": {...}}     the client JSON, as in GET /heartbeat/{id}
//   : keep-alive                   a comment every keep-alive period (kHoldRefresh / 3 = 5 s), so
//                                  NAT and firewalls see traffic
//
// Nothing else is sent. The server ends the stream (the chunked body's last chunk) when it shuts
// down or when the client is signed off (DELETE) or forgotten meanwhile; a client then reconnects.
//
// While held, each keep-alive period refreshes the client in the store (Signal::kAlive); when the
// last hold of an id drops, Signal::kRelease makes it late at once and down after kHoldGrace.
// Each registry (one per process: per replica, with a shared store) sends these with a holder
// token of its own, so that a client that reconnected to another replica is not released by
// this one when its old connection here is finally seen to drop.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pulse/handlers/heartbeat/alert_sink.hpp"
#include "pulse/handlers/heartbeat/request_metrics.hpp"
#include "pulse/http/request.hpp"
#include "pulse/http/response.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

// How many connections may be held: in all, from one remote address (a fleet behind one NAT
// shares it, so this is well above the event streams' 32), and for one id (a client reconnecting
// before its old socket is known dead holds two for a while; more is a loop gone wrong).
inline constexpr std::size_t kDefaultMaxHolds = 8192;
inline constexpr std::size_t kDefaultMaxHoldsPerAddress = 1024;
inline constexpr std::size_t kDefaultMaxHoldsPerId = 4;
// Keep-alive comments and store refreshes: a third of kHoldRefresh, so that two may be lost (or
// late) before a held client goes late.
inline constexpr std::chrono::milliseconds kDefaultHoldKeepAlive =
    std::chrono::duration_cast<std::chrono::milliseconds>(presence::kHoldRefresh) / 3;

// The shortest keep-alive period taken (a shorter one would keep the sweeper spinning).
inline constexpr std::chrono::milliseconds kMinHoldKeepAlive{10};

struct HoldLimits {
  std::size_t max_holds = kDefaultMaxHolds;
  std::size_t max_per_address = kDefaultMaxHoldsPerAddress;
  std::size_t max_per_id = kDefaultMaxHoldsPerId;
  // Tests shorten it (to kMinHoldKeepAlive at least); longer than kHoldRefresh would let held
  // clients go late between refreshes.
  std::chrono::milliseconds keep_alive = kDefaultHoldKeepAlive;
};

// Thread affinity: open() on any thread that may call the store (a worker for the embedded
// store, a store thread for one that may block); release_dropped() and refresh() on the
// heartbeat sweeper thread; close_all() on the controlling thread at stop. A dropped connection
// is noted on its worker's loop thread, which never calls the store: it only queues the release
// and wakes the sweeper. Calls for one id reach the store in the order they were decided, so a
// release cannot overtake the hold of a client that reconnected meanwhile.
class HoldRegistry : public std::enable_shared_from_this<HoldRegistry> {
 public:
  // `wake` runs (on any thread) when the sweeper has something to do now: a release to send, or
  // a change to publish to the event streams. It must not call back into the registry.
  HoldRegistry(presence::PresenceStore& store, HoldLimits limits, std::function<void()> wake);
  HoldRegistry(const HoldRegistry&) = delete;
  HoldRegistry& operator=(const HoldRegistry&) = delete;

  enum class Refusal { kNone, kServerFull, kAddressFull, kIdFull, kClosed };

  // GET|HEAD /heartbeat/{id}/hold, `id` already validated. Records the hold (a beat) and answers
  // the stream, or the error: 400 for a bad interval=, grace= or msg=, 429 when rate-limited, 503
  // when full, refused or the store cannot be reached (StoreUnavailable propagates to the API).
  [[nodiscard]] http::Response open(const http::Request& request, const std::string& id);

  // Sweeper thread. kRelease for every id whose last hold dropped. A store that cannot be reached
  // leaves the rest for the next call (and throws StoreUnavailable).
  void release_dropped();
  // Where the store's answers to this registry's calls are also reported: the alert sink gets
  // the events they produced (a released client going late is this replica's to announce), and
  // the request metrics count the signals. Before serving; either may be nullptr.
  void set_observers(AlertSink* alerts, RequestMetrics* metrics) noexcept {
    alerts_ = alerts;
    metrics_ = metrics;
  }
  // Sweeper thread, every keep_alive period: a keep-alive comment on every held connection and
  // kAlive for every held id. A client the store no longer holds (another replica released it,
  // or the store lost it) is held again; one the store no longer knows has its holds ended.
  void refresh();
  // Ends every held connection, releases the ids they held (a stopping server can vouch for
  // nobody; a client reconnects to another replica) and refuses new holds. Idempotent.
  void close_all();

  [[nodiscard]] std::size_t size() const;  // connections held, including those being opened
  // The holder token this registry's kHold, kAlive and kRelease carry (BeatRequest::run_id):
  // random, made at construction, 16 hex digits.
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] std::chrono::milliseconds keep_alive_period() const noexcept {
    return std::max(limits_.keep_alive, kMinHoldKeepAlive);
  }

 private:
  struct Hold {
    std::uint64_t serial = 0;
    std::weak_ptr<http::ResponseStream> stream;  // owned by the connection
    std::string remote_addr;
  };
  // The holds of one id.
  struct Entry {
    explicit Entry(std::string client_id) : id(std::move(client_id)) {}
    const std::string id;
    // Serialises this id's store calls (hold, alive, release), so they land in the order decided.
    // Taken before mutex_ when both are held. Held across a store call, never on a loop thread.
    std::mutex calls;
    bool held_in_store = false;  // guarded by calls: a kHold succeeded and no kRelease followed
    // Guarded by mutex_.
    std::vector<Hold> holds;
    std::size_t opening = 0;  // open() calls between reserving a slot and being held
    std::string last_remote_addr;
    bool release_queued = false;
    [[nodiscard]] bool unheld() const noexcept { return holds.empty() && opening == 0; }
  };

  // A slot for one more hold of `id` from `remote_addr`, or nullptr and why not.
  [[nodiscard]] std::shared_ptr<Entry> reserve(const std::string& id, const std::string& remote_addr, Refusal& refusal);
  // Caller holds entry->calls: gives back the slot of an open() that did not end held.
  void unreserve(const std::shared_ptr<Entry>& entry, const std::string& remote_addr);
  // Wherever the connection let go (a worker's loop): the hold `serial` of `entry` dropped.
  void on_dropped(const std::shared_ptr<Entry>& entry, std::uint64_t serial);
  // Caller holds mutex_ (and entry->calls): forgets `entry` once nothing holds it any more.
  void forget_if_unheld(const std::shared_ptr<Entry>& entry);
  // Caller holds mutex_.
  void release_address(const std::string& remote_addr);
  // Caller holds entry.calls. kRelease when the store holds the client and no connection does.
  void release_if_unheld(Entry& entry);
  // Caller holds entry.calls. kRelease when the store holds the client.
  void send_release(Entry& entry);
  // Every store result the registry gets passes here: a change wakes the sweeper to publish it.
  void note(presence::Signal signal, const presence::BeatResult& result);

  presence::PresenceStore& store_;
  const HoldLimits limits_;
  const std::function<void()> wake_;
  const std::string token_;
  AlertSink* alerts_ = nullptr;
  RequestMetrics* metrics_ = nullptr;

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;  // guarded by mutex_
  std::map<std::string, std::size_t, std::less<>> by_address_;          // guarded by mutex_
  std::size_t total_ = 0;                                               // guarded by mutex_
  std::vector<std::shared_ptr<Entry>> release_queue_;                   // guarded by mutex_
  std::uint64_t next_serial_ = 1;                                       // guarded by mutex_
  bool closed_ = false;                                                 // guarded by mutex_
};

}  // namespace pulse::handlers::heartbeat
