// The direct JSON writer: digits and escapes appended by hand into one growing buffer.
#include "pulse/handlers/heartbeat/json_writer.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>

#include "pulse/presence/validation.hpp"

namespace pulse::handlers::heartbeat {
namespace {

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  std::array<char, 24> digits{};
  const auto [end, error] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  (void)error;  // 24 characters hold any 64-bit integer
  out.append(digits.data(), end);
}

// `value` as exactly `width` digits, zero-padded (the caller knows it fits).
void append_padded(std::string& out, unsigned value, int width) {
  std::array<char, 8> digits{};
  for (int i = width - 1; i >= 0; --i) {
    digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits.data(), static_cast<std::size_t>(width));
}

void append_bool(std::string& out, bool value) {
  out += value ? "true" : "false";
}

// `"name":`
void append_key(std::string& out, std::string_view name) {
  out += '"';
  out += name;
  out += "\":";
}

constexpr std::string_view kHex = "0123456789abcdef";

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  if (!presence::is_valid_utf8(text)) {
    // Never from a validated client field; the library's replacing dump is the one definition.
    out += nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  std::size_t run = 0;  // start of the bytes copied as they are
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xf];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_json_time(std::string& out, presence::Time time) {
  using namespace std::chrono;
  const auto millis = floor<milliseconds>(time);
  const auto day = floor<days>(millis);
  const year_month_day date{day};
  const auto in_day = static_cast<std::uint64_t>((millis - day).count());
  out += '"';
  append_padded(out, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out += '-';
  append_padded(out, static_cast<unsigned>(date.month()), 2);
  out += '-';
  append_padded(out, static_cast<unsigned>(date.day()), 2);
  out += 'T';
  append_padded(out, static_cast<unsigned>(in_day / 3'600'000), 2);
  out += ':';
  append_padded(out, static_cast<unsigned>(in_day / 60'000 % 60), 2);
  out += ':';
  append_padded(out, static_cast<unsigned>(in_day / 1000 % 60), 2);
  out += '.';
  append_padded(out, static_cast<unsigned>(in_day % 1000), 3);
  out += "Z\"";
}

void append_client_json(std::string& out, const presence::ClientView& client) {
  out += "{\"id\":";
  append_json_string(out, client.id);
  out += ",\"state\":\"";
  out += presence::to_string(client.state);
  out += "\",\"online\":";
  append_bool(out, presence::is_online(client.state));
  out += ",\"status\":\"";
  out += presence::to_string(client.health);
  out += "\",";
  append_key(out, "last_beat");
  append_json_time(out, client.last_beat);
  out += ',';
  append_key(out, "last_ok");
  if (client.last_ok) {
    append_json_time(out, *client.last_ok);
  } else {
    out += "null";
  }
  out += ',';
  append_key(out, "next_due");
  append_json_time(out, client.next_due);
  out += ',';
  append_key(out, "down_at");
  append_json_time(out, client.down_at);
  out += ',';
  append_key(out, "interval");
  append_integer(out, client.interval.count());
  out += ',';
  append_key(out, "grace");
  append_integer(out, client.grace.count());
  out += ',';
  append_key(out, "beats");
  append_integer(out, client.beats);
  out += ',';
  append_key(out, "remote_addr");
  append_json_string(out, client.remote_addr);
  out += ',';
  append_key(out, "msg");
  append_json_string(out, client.message);
  out += ',';
  append_key(out, "paused");
  append_bool(out, client.paused);
  out += ',';
  append_key(out, "held");
  append_bool(out, client.held);
  out += ',';
  append_key(out, "running");
  append_bool(out, !client.runs.empty());
  out += ',';
  append_key(out, "runs");
  out += '[';
  for (std::size_t i = 0; i < client.runs.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"rid\":";
    if (client.runs[i].rid.empty()) {
      out += "null";  // the start gave no rid=
    } else {
      append_json_string(out, client.runs[i].rid);
    }
    out += ",\"started\":";
    append_json_time(out, client.runs[i].started);
    out += '}';
  }
  out += "],";
  append_key(out, "last_duration_ms");
  if (client.last_duration) {
    append_integer(out, client.last_duration->count());
  } else {
    out += "null";
  }
  out += ',';
  append_key(out, "exit_code");
  if (client.exit_code) {
    append_integer(out, static_cast<unsigned>(*client.exit_code));
  } else {
    out += "null";
  }
  out += ',';
  append_key(out, "log_bytes");
  append_integer(out, client.log_bytes);
  out += '}';
}

void append_beat_result_json(std::string& out, const presence::BeatResult& result, presence::Time server_time) {
  const presence::ClientView& client = result.client;
  out += "{\"id\":";
  append_json_string(out, client.id);
  out += ",\"state\":\"";
  out += presence::to_string(client.state);
  out += "\",\"server_time\":";
  append_json_time(out, server_time);
  out += ",\"next_due\":";
  append_json_time(out, client.next_due);
  out += ",\"down_at\":";
  append_json_time(out, client.down_at);
  out += ",\"interval\":";
  append_integer(out, client.interval.count());
  out += ",\"grace\":";
  append_integer(out, client.grace.count());
  out += ",\"beats\":";
  append_integer(out, client.beats);
  out += ",\"running\":";
  append_bool(out, !client.runs.empty());
  out += ",\"paused\":";
  append_bool(out, client.paused);
  out += ",\"duration_ms\":";
  if (result.run_duration) {
    append_integer(out, result.run_duration->count());
  } else {
    out += "null";
  }
  out += '}';
}

void append_listing_json(std::string& out, const presence::Listing& listing, presence::Time server_time) {
  // About 450 bytes a client: one allocation instead of a doubling series up to tens of MB.
  out.reserve(out.size() + 256 + listing.clients.size() * 480);
  out += "{\"server_time\":";
  append_json_time(out, server_time);
  out += ",\"total\":";
  append_integer(out, listing.counts.total());
  out += ",\"online\":";
  append_integer(out, listing.counts.online());
  out += ",\"offline\":";
  append_integer(out, listing.counts[presence::ClientState::kDown]);
  out += ",\"counts\":{";
  bool first = true;
  for (const presence::ClientState state : presence::kAllClientStates) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += presence::to_string(state);
    out += "\":";
    append_integer(out, listing.counts[state]);
  }
  out += "},\"clients\":[";
  for (std::size_t i = 0; i < listing.clients.size(); ++i) {
    if (i > 0) out += ',';
    append_client_json(out, listing.clients[i]);
  }
  out += "]}";
}

}  // namespace pulse::handlers::heartbeat
