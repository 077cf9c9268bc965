// EventStreams: snapshots, replays after Last-Event-ID, and fan-out of change events to every
// open /heartbeat/events stream.
#include "pulse/handlers/heartbeat/events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "pulse/handlers/heartbeat/json.hpp"
#include "pulse/handlers/heartbeat/json_writer.hpp"

namespace pulse::handlers::heartbeat {

std::string format_sse_event(std::optional<std::uint64_t> id, std::string_view event, std::string_view data) {
  if (id) return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", *id, event, data);
  return fmt::format("event: {}\ndata: {}\n\n", event, data);
}

EventStreams::EventStreams(presence::PresenceStore& store, StreamLimits limits)
    : store_(store), limits_(limits) {}

EventStreams::Refusal EventStreams::refusal_for(std::string_view remote_addr) const {
  if (closed_) return Refusal::kClosed;
  if (subscribers_.size() >= limits_.max_streams) return Refusal::kServerFull;
  const auto from_address = std::count_if(subscribers_.begin(), subscribers_.end(),
                                          [&](const Subscriber& s) { return s.remote_addr == remote_addr; });
  if (static_cast<std::size_t>(from_address) >= limits_.max_per_address) return Refusal::kAddressFull;
  return Refusal::kNone;
}

EventStreams::Opened EventStreams::open(std::optional<std::uint64_t> last_event_id, std::string_view remote_addr) {
  {
    std::lock_guard lock(mutex_);
    if (const auto refusal = refusal_for(remote_addr); refusal != Refusal::kNone) return {nullptr, refusal};
  }
  // The first events are prepared outside mutex_, so a big snapshot does not stall the fan-out.
  // Nothing is lost meanwhile: the stream joins at the sequence its first events end with, and
  // the next publish() sends it whatever happened since, from the store's history.
  Subscriber subscriber{std::make_shared<http::ResponseStream>(), 0, std::string(remote_addr)};
  subscriber.stream->write(kSseRetry);
  const auto missed = last_event_id ? store_.events_after(*last_event_id) : std::nullopt;
  if (missed) {
    subscriber.cursor = *last_event_id;
    send_events(subscriber, *missed, store_.now());
  } else {
    send_snapshot(subscriber, *current_snapshot());
  }
  std::lock_guard lock(mutex_);
  // Checked again: others may have opened streams while this one was being prepared.
  if (const auto refusal = refusal_for(remote_addr); refusal != Refusal::kNone) return {nullptr, refusal};
  subscribers_.push_back(subscriber);
  return {subscriber.stream, Refusal::kNone};
}

std::shared_ptr<const EventStreams::Snapshot> EventStreams::current_snapshot() {
  // As for the whole list: streams that waited for a render share the next one, which starts
  // after they asked and so includes whatever they could know of.
  const std::uint64_t wanted = store_.version();
  std::lock_guard lock(snapshot_mutex_);
  const auto now = store_.now();
  if (snapshot_ && snapshot_->version >= wanted && now - snapshot_->rendered_at < kSnapshotMaxAge) {
    return snapshot_;
  }
  const presence::Listing listing = store_.list({});
  const auto at = store_.now();
  // Written straight into the event's text: no DOM, no second copy of tens of megabytes.
  auto text = std::make_shared<std::string>(fmt::format("id: {}\nevent: snapshot\ndata: ", listing.sequence));
  append_listing_json(*text, listing, at);
  *text += "\n\n";
  snapshot_ = std::make_shared<const Snapshot>(Snapshot{listing.version, listing.sequence, now, std::move(text)});
  return snapshot_;
}

bool EventStreams::send_snapshot(Subscriber& subscriber, const Snapshot& snapshot) {
  if (!subscriber.stream->write_shared(snapshot.text)) return false;
  subscriber.cursor = snapshot.sequence;
  return true;
}

bool EventStreams::send_events(Subscriber& subscriber, const std::vector<presence::PresenceEvent>& events,
                               presence::Time at) {
  std::string text;
  for (const auto& event : events) {
    if (event.sequence <= subscriber.cursor) continue;
    text += format_sse_event(event.sequence, presence::to_string(event.kind), dump_json(event_json(event, at)));
  }
  if (text.empty()) return !subscriber.stream->closed();
  if (!subscriber.stream->write(text)) return false;
  subscriber.cursor = events.back().sequence;
  return true;
}

void EventStreams::publish() {
  std::lock_guard lock(mutex_);
  if (subscribers_.empty()) return;
  const auto at = store_.now();
  const auto oldest = std::min_element(subscribers_.begin(), subscribers_.end(), [](const auto& a, const auto& b) {
                        return a.cursor < b.cursor;
                      })->cursor;
  const auto backlog = store_.events_after(oldest);

  // Usually every stream is at the same cursor: render each event once, not once per stream.
  std::vector<std::pair<std::uint64_t, std::string>> rendered;
  if (backlog) {
    for (const auto& event : *backlog) {
      rendered.emplace_back(event.sequence, format_sse_event(event.sequence, presence::to_string(event.kind),
                                                             dump_json(event_json(event, at))));
    }
  }
  // Streams that fell behind the history get a snapshot: one per registry version, shared by
  // every stream that needs it (and by new streams).
  std::shared_ptr<const Snapshot> snapshot;
  std::map<std::uint64_t, std::shared_ptr<const std::string>> by_cursor;
  std::erase_if(subscribers_, [&](Subscriber& subscriber) {
    if (!backlog) {
      // This stream (or the slowest one) fell behind the history: its own backlog, or a snapshot.
      const auto own = store_.events_after(subscriber.cursor);
      if (own) return !send_events(subscriber, *own, at);
      if (!snapshot) snapshot = current_snapshot();
      return !send_snapshot(subscriber, *snapshot);
    }
    // Streams at the same cursor (usually all of them) share one buffer of what they missed.
    auto& text = by_cursor[subscriber.cursor];
    if (!text) {
      std::string joined;
      for (const auto& [sequence, event_text] : rendered) {
        if (sequence > subscriber.cursor) joined += event_text;
      }
      text = std::make_shared<const std::string>(std::move(joined));
    }
    if (text->empty()) return subscriber.stream->closed();
    if (!subscriber.stream->write_shared(text)) return true;
    subscriber.cursor = rendered.back().first;
    return false;
  });
}

void EventStreams::publish_beats(const std::vector<presence::ClientView>& clients) {
  if (clients.empty()) return;
  std::lock_guard lock(mutex_);
  if (subscribers_.empty()) return;
  // Up to kMaxBeatDigestClients clients: rendered once and shared, not copied into each stream.
  broadcast(std::make_shared<const std::string>(
      format_sse_event(std::nullopt, "beats", dump_json(beats_json(clients, store_.now())))));
}

void EventStreams::send_keep_alive() {
  static const auto keep_alive = std::make_shared<const std::string>(kSseKeepAlive);
  std::lock_guard lock(mutex_);
  broadcast(keep_alive);
}

void EventStreams::broadcast(const std::shared_ptr<const std::string>& text) {
  std::erase_if(subscribers_, [&text](const Subscriber& subscriber) { return !subscriber.stream->write_shared(text); });
}

void EventStreams::close_all() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (const auto& subscriber : subscribers_) subscriber.stream->close();
  subscribers_.clear();
}

std::size_t EventStreams::size() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

bool EventStreams::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace pulse::handlers::heartbeat
