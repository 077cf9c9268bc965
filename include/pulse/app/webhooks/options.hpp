// WebhookOptions: which presence events become alerts, where they go, and how hard delivery
// tries. Every limit and timeout is named here with its default; each is a flag (--webhook-*).
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::app::webhooks {

using namespace std::chrono_literals;

// What an alert is sent for (--webhook-on). kUp means a recovery: back to up for an id whose
// last down or failing was alerted and not yet followed by an "up", whatever states came between
// (failing -> late -> up, down -> paused -> up); not the end of a late or a pause alone, which
// nobody was told about as trouble.
enum class Trigger : std::uint8_t { kDown, kFailing, kUp, kLate, kPaused, kJoin, kLeave };
inline constexpr std::size_t kTriggerCount = 7;
using Triggers = std::bitset<kTriggerCount>;

[[nodiscard]] std::string_view to_string(Trigger trigger) noexcept;
[[nodiscard]] constexpr std::size_t index_of(Trigger trigger) noexcept {
  return static_cast<std::size_t>(trigger);
}
// "down,failing,up": nullopt when a word is not a trigger.
[[nodiscard]] std::optional<Triggers> parse_triggers(std::string_view text);
[[nodiscard]] std::string format_triggers(const Triggers& triggers);

inline constexpr std::string_view kDefaultTriggers = "down,failing,up";
// --webhook-joins adds these: a new id, and a sign-off or an expiry.
inline constexpr std::string_view kJoinTriggers = "join,leave";

// Whether `event` is one `triggers` asks for. A join straight into failing (a job's first report
// is a failure) counts as "failing" too: somebody must hear of it without --webhook-joins.
// `alerted_bad`: this id's last alert of down, failing or up was a down or a failing (the
// dispatcher remembers it). A move to up is wanted then, and also straight from a down or a
// failing that is itself a trigger: that move was alerted, maybe by another replica or before a
// restart, which this process cannot remember.
[[nodiscard]] bool wanted(const presence::PresenceEvent& event, const Triggers& triggers,
                          bool alerted_bad = false) noexcept;
// Whether `event`, when alerted, is a bad one (a down or a failing): the dispatcher then
// remembers its id until the "up" after it, or the id's leave.
[[nodiscard]] bool is_bad_alert(const presence::PresenceEvent& event) noexcept;

// Ids whose last alert was bad, remembered at most: the store holds no more clients than its
// --heartbeat-max-clients (server.cpp sets this from it), so one replica never reaches it. With
// replicas, ids that left through another one are forgotten only when met again; the limit keeps
// them from adding up past the number of clients.
inline constexpr std::size_t kDefaultMaxAlertedIds = presence::kDefaultMaxClients;

// Alerts waiting per URL (the one being delivered included); beyond, new ones are dropped and
// counted. An alert is under 1 KiB, so the default holds a large outage in little memory.
inline constexpr std::size_t kDefaultQueueCapacity = 10'000;
inline constexpr std::size_t kMaxQueueCapacity = 1'000'000;
// Every request ends within this (connecting included).
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout = 10s;
inline constexpr std::chrono::milliseconds kMaxConnectTimeout = 5s;
// Back-off: retry n waits a random time in [0, min(max, base * 2^n)] (full jitter).
inline constexpr std::chrono::milliseconds kDefaultRetryBase = 1s;
inline constexpr std::chrono::milliseconds kDefaultRetryMax = 5min;
// An alert not delivered this long after its first try is given up (failed). Long enough that a
// receiver down for an hour, or a night's maintenance, loses nothing that fits the queue.
inline constexpr std::chrono::milliseconds kDefaultGiveUp = 24h;
// A Retry-After longer than this is read as this (a receiver asking for a day is not obeyed).
inline constexpr std::chrono::milliseconds kMaxRetryAfter = 1h;
// At shutdown, requests under way (and alerts due now) get this long; nothing waits for a back-off.
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace = 2s;

struct WebhookOptions {
  std::vector<std::string> urls;  // http:// or https:// (check_url)
  Triggers triggers = *parse_triggers(kDefaultTriggers);
  std::string server_name;  // in every document and text; empty: this host's name
  std::size_t queue_capacity = kDefaultQueueCapacity;
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;
  std::chrono::milliseconds retry_base = kDefaultRetryBase;
  std::chrono::milliseconds retry_max = kDefaultRetryMax;
  std::chrono::milliseconds give_up = kDefaultGiveUp;
  std::chrono::milliseconds shutdown_grace = kDefaultShutdownGrace;
  std::string ca_file;  // trust these certificates instead of the system's; empty: the system's
  std::size_t max_alerted_ids = kDefaultMaxAlertedIds;

  [[nodiscard]] bool enabled() const noexcept { return !urls.empty(); }
};

// Why `url` cannot be a webhook (not http:// or https://, no host, malformed), or nullopt.
// Names the URL only by scheme and host: a webhook's path is often its secret.
[[nodiscard]] std::optional<std::string> url_error(const std::string& url);
// "https://hooks.example.com" (scheme, host and port, never the path): for logs and errors.
[[nodiscard]] std::string url_label(const std::string& url);

// This machine's host name ("localhost" if it has none).
[[nodiscard]] std::string host_name();

}  // namespace pulse::app::webhooks
