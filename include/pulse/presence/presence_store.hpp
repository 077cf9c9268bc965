// PresenceStore: the interface of "who is online", and the values it speaks in. The embedded
// PresenceRegistry implements it, and so does RedisStore, through which replicas share presence.
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/presence/client_state.hpp"
#include "pulse/presence/clock.hpp"

namespace pulse::presence {

// A job's run that began (POST /heartbeat/{id}/start) and has not ended yet.
struct OpenRun {
  std::string rid;  // the start's rid=, empty when it gave none
  Time started{};

  friend bool operator==(const OpenRun&, const OpenRun&) = default;
};

// Everything known about one client, as of one instant. Times are on the store's clock (see
// PresenceStore::now()). The last log and the history are not here (a listing copies every
// view): PresenceStore::detail() returns them.
struct ClientView {
  std::string id;
  ClientState state = ClientState::kUp;
  Health health = Health::kOk;  // as reported by the last beat
  std::chrono::seconds interval{0};
  std::chrono::seconds grace{0};
  std::string message;
  std::string remote_addr;
  std::uint64_t beats = 0;
  Time last_beat{};
  std::optional<Time> last_ok;  // the last beat with status ok, if any
  Time next_due{};              // late from here
  Time down_at{};               // down from here (next_due + grace)

  bool paused = false;  // POST /pause, until the next beat: state is kPaused
  bool held = false;    // a hold connection (GET /heartbeat/{id}/hold) keeps it fresh
  // Runs begun by /start and not ended yet, oldest first; at most kMaxOpenRuns.
  std::vector<OpenRun> runs;
  // The last run's duration, from its start to the signal that ended it.
  std::optional<std::chrono::milliseconds> last_duration;
  std::optional<std::uint8_t> exit_code;  // the last exit status reported (/heartbeat/{id}/{0-255})
  std::size_t log_bytes = 0;              // the size of the last log kept (0: none)

  friend bool operator==(const ClientView&, const ClientView&) = default;
};

// One line of a client's history (GET /heartbeat/{id}/history): a state change or a run that
// ended. The store keeps the last RegistryOptions::history_length of them per client.
enum class HistoryKind : std::uint8_t { kChange, kRun };
[[nodiscard]] std::string_view to_string(HistoryKind kind) noexcept;

struct HistoryEntry {
  Time at{};
  HistoryKind kind = HistoryKind::kChange;
  std::optional<ClientState> from;  // kChange: the state left; nullopt when the client joined
  ClientState to = ClientState::kUp;  // kChange: the state entered
  // kRun: how it ended (ok or fail), its exit status if one was reported, and how long it took.
  Health result = Health::kOk;
  std::optional<std::uint8_t> exit_code;
  std::chrono::milliseconds duration{0};

  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// One client with what only a detail view needs.
struct ClientDetail {
  ClientView client;
  std::string log;                    // the last beat body kept, at most kMaxLogBytes
  std::vector<HistoryEntry> history;  // oldest first

  friend bool operator==(const ClientDetail&, const ClientDetail&) = default;
};

// What a request to /heartbeat/{id}[/signal] says. Every signal but kPause, kAlive and kRelease
// is a beat: it unpauses the client, counts in `beats`, and sets its deadlines from its interval.
enum class Signal : std::uint8_t {
  kBeat,   // POST /heartbeat/{id}: with status=, that health (and it ends the oldest or the rid=
           // run); without, "still alive": health stays, an open run goes on (health ok when no
           // run is open)
  kStart,  // /start: a run begins (rid= names it); health stays
  kFail,   // /fail: health fail; ends a run
  kExit,   // /{0-255}: exit_code 0 is ok, anything else fail with the message "exit N" unless
           // msg= says more; ends a run
  kPause,  // /pause: a known client is paused until its next beat; kNotFound for a new id
  kHold,   // a hold connection opened: a beat, but its deadlines come from kHoldRefresh and
           // kHoldGrace, its health and settings stay, and `held` is set
  kAlive,  // the holding server refreshes a held client: deadlines only (not a beat: no count,
           // no unpausing); ignored (kUpdated, nothing changes) unless the client is held
  kRelease,  // the hold connection dropped: `held` cleared, late now, down after kHoldGrace
  // The holder token. For kHold, kAlive and kRelease, BeatRequest::run_id is not an rid but the
  // token of the server (replica) that holds the connection, and the store keeps the token of
  // the current holder with the client: a client that reconnects to another replica is held by
  // that one, and the old replica's late release must not make it late. kHold makes its token
  // the holder. kAlive with another token: while the client is held it is ignored (the holder
  // refreshes it; the sender's own connection is a stale one it has not yet seen drop), and when
  // it is not held it takes the hold over (holder, held, deadlines). kRelease with another token
  // changes nothing (kUpdated, no event). An empty token, in a request or as the holder, matches
  // any. A beat (any signal but these three and kPause) on a held client never brings its
  // deadlines earlier than the hold's: next_due and down_at are the later of its own and those.
};
[[nodiscard]] std::string_view to_string(Signal signal) noexcept;

// One request, as the API parsed it. Settings are sticky: unset interval and grace keep what
// the client said last; a new id takes the store's default interval. An interval without a
// grace takes default_grace(interval).
struct BeatRequest {
  std::string id;
  Signal signal = Signal::kBeat;
  std::optional<std::chrono::seconds> interval;
  std::optional<std::chrono::seconds> grace;
  std::optional<Health> health;  // kBeat: status=, if given
  std::optional<std::uint8_t> exit_code;  // kExit
  std::string run_id;  // rid=: which run a start begins or an end ends; kHold, kAlive and kRelease:
                       // the holder token (see Signal)
  std::string message;
  std::optional<std::string> log;  // the body, already cut to kMaxLogBytes; unset keeps the last
  std::string remote_addr;
};

// A change worth telling watchers about: never a plain beat.
enum class EventKind : std::uint8_t {
  kJoin,    // a new id
  kChange,  // a state transition
  kLeave,   // the client signed off, or was forgotten after the retention period
};
enum class LeaveReason : std::uint8_t { kSignedOff, kExpired };
[[nodiscard]] std::string_view to_string(EventKind kind) noexcept;
[[nodiscard]] std::string_view to_string(LeaveReason reason) noexcept;

struct PresenceEvent {
  std::uint64_t sequence = 0;  // strictly increasing across the store: the SSE id
  EventKind kind = EventKind::kJoin;
  std::optional<ClientState> previous;           // kChange: the state left
  LeaveReason reason = LeaveReason::kSignedOff;  // kLeave only
  ClientView client;                             // as it was right after the event
};

enum class BeatOutcome : std::uint8_t {
  kCreated,      // a new id
  kUpdated,      // a known id
  kRateLimited,  // this id beats faster than allowed; nothing recorded
  kFull,         // a new id while the store holds its maximum; nothing recorded
  kInvalid,      // id, interval, grace or message out of bounds; nothing recorded
  kNotFound,     // kPause, kAlive or kRelease for an id the store does not hold; nothing recorded
};
[[nodiscard]] std::string_view to_string(BeatOutcome outcome) noexcept;

struct BeatResult {
  BeatOutcome outcome = BeatOutcome::kInvalid;
  std::optional<ClientState> previous;  // state before the beat (known ids only)
  ClientView client;                    // after the beat (kCreated, kUpdated only)
  std::optional<std::chrono::milliseconds> run_duration;  // the run this request ended, if any
  // The event this request appended (a join, or a change of state), if any: each event is
  // returned by exactly one call on one replica, so alerts built from these go out once.
  std::optional<PresenceEvent> event;

  [[nodiscard]] bool accepted() const noexcept {
    return outcome == BeatOutcome::kCreated || outcome == BeatOutcome::kUpdated;
  }
  // A new client or a different state: something server-sent-event clients are told about.
  [[nodiscard]] bool changed() const noexcept {
    return outcome == BeatOutcome::kCreated || (accepted() && previous != client.state);
  }
};

// Clients per state.
struct StateCounts {
  std::array<std::size_t, kClientStateCount> by_state{};

  [[nodiscard]] std::size_t operator[](ClientState state) const noexcept { return by_state[index_of(state)]; }
  [[nodiscard]] std::size_t total() const noexcept;
  [[nodiscard]] std::size_t online() const noexcept {
    return total() - (*this)[ClientState::kDown] - (*this)[ClientState::kPaused];
  }
};

struct ListFilter {
  std::bitset<kClientStateCount> states = std::bitset<kClientStateCount>().set();  // all
  std::string prefix;

  [[nodiscard]] bool matches(const ClientView& client) const noexcept;
};

// The clients matching a filter, sorted by id, with the store's counters read at the same
// instant as the clients (one consistent snapshot).
struct Listing {
  std::uint64_t version = 0;   // changes whenever anything shown in a listing changes
  std::uint64_t sequence = 0;  // the last event included in this snapshot
  StateCounts counts;          // over all clients, not only the matching ones
  std::vector<ClientView> clients;
};

struct StoreCounters {
  StateCounts clients;
  std::uint64_t beats_total = 0;
  std::uint64_t transitions_total = 0;  // state changes of known clients (not joins or leaves)
  std::uint64_t rate_limited_total = 0;
  std::uint64_t rejected_full_total = 0;
};

// A shared store that cannot be reached (or did not answer in time): nothing was recorded. The
// API answers 503 with Retry-After.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whether the store can serve requests now (/readyz), and how often it could not.
struct StoreHealth {
  bool ready = true;
  std::uint64_t errors_total = 0;  // calls that failed for want of the store (StoreUnavailable)
  std::string detail;              // why not ready, for people: "connection refused", ...
};

class PresenceStore {
 public:
  PresenceStore() = default;
  PresenceStore(const PresenceStore&) = delete;
  PresenceStore& operator=(const PresenceStore&) = delete;
  virtual ~PresenceStore() = default;

  // Every method is safe to call from any thread. A store whose calls may_block() does network
  // I/O in beat(), find(), detail(), remove(), list(), tick(), take_beaten(), export_clients() and
  // restore(): never call those on an event loop's thread. They throw StoreUnavailable when the
  // store cannot be reached. The rest (now, events_after, last_sequence, version, counters,
  // health) never block and never throw StoreUnavailable: a shared store answers them from what
  // it last learned.

  // The instant every time this store hands out is measured against, on any replica.
  [[nodiscard]] virtual Time now() const = 0;
  [[nodiscard]] virtual bool may_block() const noexcept { return false; }
  [[nodiscard]] virtual StoreHealth health() const { return {}; }
  // `listener` runs (on any thread) whenever events_after() may have something new that no call
  // on this process made: a shared store learning of another replica's change. Set once, before
  // use; may be empty. Setting another (or an empty one) waits for a call of the old one in
  // progress: after that, the old one never runs again. A listener must not call into the store.
  virtual void set_event_listener(std::function<void()> listener) { (void)listener; }

  // Records a beat for `request.id`, creating the client if it is new.
  [[nodiscard]] virtual BeatResult beat(const BeatRequest& request) = 0;
  // No side effect.
  [[nodiscard]] virtual std::optional<ClientView> find(std::string_view id) const = 0;
  // find() with the client's last log and history. No side effect.
  [[nodiscard]] virtual std::optional<ClientDetail> detail(std::string_view id) const = 0;
  // Signs `id` off: it disappears (it is not "down"). False when unknown.
  virtual bool remove(std::string_view id) = 0;
  [[nodiscard]] virtual Listing list(const ListFilter& filter) const = 0;

  // Applies the transitions that time alone causes (up -> late -> down, forgetting clients down
  // for longer than the retention) and returns the events they produced, in order.
  virtual std::vector<PresenceEvent> tick() = 0;

  // The events after `sequence`, oldest first; nullopt when the history no longer reaches back
  // that far (or `sequence` is not one of this store's), so the caller needs a fresh snapshot.
  [[nodiscard]] virtual std::optional<std::vector<PresenceEvent>> events_after(std::uint64_t sequence) const = 0;
  [[nodiscard]] virtual std::uint64_t last_sequence() const = 0;
  // Changes on every beat, transition, join and leave: the list's ETag, and "dirty" for saving.
  [[nodiscard]] virtual std::uint64_t version() const = 0;
  [[nodiscard]] virtual StoreCounters counters() const = 0;

  // Up to `max` clients that beat since the last call (each once, however often it beat), as
  // they are now. Lets a live view refresh "last seen" without an event per beat.
  [[nodiscard]] virtual std::vector<ClientView> take_beaten(std::size_t max) = 0;

  // Persistence (the memory store's state file): every client, and re-creating clients saved by
  // an earlier run. Restored clients get a fresh interval plus grace from now, unless they were
  // already down, or paused (`paused` set or state kPaused: paused again, with the deadlines
  // saved); none comes back held. Ids already present, invalid ones and those beyond the maximum
  // are skipped. Returns how many were restored.
  [[nodiscard]] virtual std::vector<ClientView> export_clients() const = 0;
  virtual std::size_t restore(const std::vector<ClientView>& clients) = 0;
};

}  // namespace pulse::presence
