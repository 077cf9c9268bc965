// Reads a text/event-stream body into events, for tests of GET /heartbeat/events.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::test {

struct SseEvent {
  std::optional<std::string> id;  // absent: the event has no id line
  std::string event = "message";
  std::string data;
};

struct SseStream {
  std::vector<SseEvent> events;  // complete events, in order
  std::vector<std::string> comments;
  std::optional<std::string> retry;
  std::string rest;  // an incomplete event at the end, if any
};

// Follows the event-stream grammar for what Pulse sends: "field: value" lines, ':' comments,
// events ended by a blank line. Blocks without data (a lone retry) dispatch nothing.
inline SseStream parse_sse(std::string_view text) {
  SseStream stream;
  while (true) {
    const auto end = text.find("\n\n");
    if (end == std::string_view::npos) break;
    std::string_view block = text.substr(0, end + 1);
    text.remove_prefix(end + 2);
    SseEvent event;
    bool has_data = false;
    while (!block.empty()) {
      const auto newline = block.find('\n');
      std::string_view line = block.substr(0, newline);
      block.remove_prefix(newline + 1);
      if (line.starts_with(':')) {
        stream.comments.emplace_back(line.substr(1));
        continue;
      }
      const auto colon = line.find(':');
      const std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
      if (field == "id") {
        event.id = std::string(value);
      } else if (field == "event") {
        event.event = std::string(value);
      } else if (field == "data") {
        if (has_data) event.data += '\n';
        event.data += value;
        has_data = true;
      } else if (field == "retry") {
        stream.retry = std::string(value);
      }
    }
    if (has_data) stream.events.push_back(std::move(event));
  }
  stream.rest = std::string(text);
  return stream;
}

}  // namespace pulse::test
