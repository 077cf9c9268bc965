// EventStreams: snapshots, replays after Last-Event-ID, and fan-out of change events to every
// open /heartbeat/events stream.
#include "pulse/handlers/heartbeat/events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "pulse/handlers/heartbeat/json.hpp"

namespace pulse::handlers::heartbeat {

std::string format_sse_event(std::optional<std::uint64_t> id, std::string_view event, std::string_view data) {
  if (id) return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", *id, event, data);
  return fmt::format("event: {}\ndata: {}\n\n", event, data);
}

EventStreams::EventStreams(presence::PresenceStore& store, std::shared_ptr<const presence::Clock> clock,
                           std::size_t max_streams)
    : store_(store), clock_(std::move(clock)), max_streams_(max_streams) {}

std::shared_ptr<http::ResponseStream> EventStreams::open(std::optional<std::uint64_t> last_event_id) {
  std::lock_guard lock(mutex_);
  if (closed_ || subscribers_.size() >= max_streams_) return nullptr;
  // Registered under the same lock as publish(): nothing can happen between the first events
  // and the stream joining the fan-out, so no event is lost or sent twice.
  Subscriber subscriber{std::make_shared<http::ResponseStream>(), 0};
  subscriber.stream->write(kSseRetry);
  const auto missed = last_event_id ? store_.events_after(*last_event_id) : std::nullopt;
  if (missed) {
    subscriber.cursor = *last_event_id;
    send_events(subscriber, *missed, presence::TimeBase::now(*clock_));
  } else {
    send_snapshot(subscriber, render_snapshot());
  }
  subscribers_.push_back(subscriber);
  return subscriber.stream;
}

EventStreams::Snapshot EventStreams::render_snapshot() const {
  const presence::Listing listing = store_.list({});
  const auto at = presence::TimeBase::now(*clock_);
  return {listing.sequence, format_sse_event(listing.sequence, "snapshot", dump_json(listing_json(listing, at)))};
}

bool EventStreams::send_snapshot(Subscriber& subscriber, const Snapshot& snapshot) {
  if (!subscriber.stream->write(snapshot.text)) return false;
  subscriber.cursor = snapshot.sequence;
  return true;
}

bool EventStreams::send_events(Subscriber& subscriber, const std::vector<presence::PresenceEvent>& events,
                               const presence::TimeBase& at) {
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
  const auto at = presence::TimeBase::now(*clock_);
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
  // Streams that fell behind the history get a snapshot: taken (all shards, every client) at most
  // once per publish, however many streams need it.
  std::optional<Snapshot> snapshot;
  std::erase_if(subscribers_, [&](Subscriber& subscriber) {
    if (!backlog) {
      // This stream (or the slowest one) fell behind the history: its own backlog, or a snapshot.
      const auto own = store_.events_after(subscriber.cursor);
      if (own) return !send_events(subscriber, *own, at);
      if (!snapshot) snapshot = render_snapshot();
      return !send_snapshot(subscriber, *snapshot);
    }
    std::string text;
    std::uint64_t last = subscriber.cursor;
    for (const auto& [sequence, event_text] : rendered) {
      if (sequence <= subscriber.cursor) continue;
      text += event_text;
      last = sequence;
    }
    if (text.empty()) return subscriber.stream->closed();
    if (!subscriber.stream->write(text)) return true;
    subscriber.cursor = last;
    return false;
  });
}

void EventStreams::publish_beats(const std::vector<presence::ClientView>& clients) {
  if (clients.empty()) return;
  std::lock_guard lock(mutex_);
  if (subscribers_.empty()) return;
  broadcast(format_sse_event(std::nullopt, "beats", dump_json(beats_json(clients, presence::TimeBase::now(*clock_)))));
}

void EventStreams::send_keep_alive() {
  std::lock_guard lock(mutex_);
  broadcast(kSseKeepAlive);
}

void EventStreams::broadcast(std::string_view text) {
  std::erase_if(subscribers_, [text](const Subscriber& subscriber) { return !subscriber.stream->write(text); });
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
