// Client records and events as the Lua scripts write them. Decoding is a small scanner for the
// one shape a record has (a flat JSON object of strings and integers): a listing decodes every
// client, and a DOM parser cost four times as much as the rest of a listing together.
#include "pulse/presence/redis/record_codec.hpp"

#include <fmt/format.h>

#include <bitset>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

#include "pulse/base/parse.hpp"
#include "pulse/presence/limits.hpp"

namespace pulse::presence::redis {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad_record(std::string_view why) {
  throw ProtocolError(fmt::format("redis: a client record {}", why));
}

// One JSON value of a flat object: a string (unescaped) or a number (its text).
struct Value {
  bool is_string = false;
  std::string text;
};

class FlatObjectScanner {
 public:
  explicit FlatObjectScanner(std::string_view text) : text_(text) {}

  // Calls on_member(key, value) for each member; throws ProtocolError on anything else.
  template <typename OnMember>
  void scan(OnMember&& on_member) {
    skip_space();
    expect('{');
    skip_space();
    if (peek() == '}') return finish();
    std::string key;
    Value value;
    while (true) {
      skip_space();
      expect('"');
      read_string(key);
      skip_space();
      expect(':');
      skip_space();
      if (peek() == '"') {
        ++pos_;
        value.is_string = true;
        read_string(value.text);
      } else {
        value.is_string = false;
        read_number(value.text);
      }
      on_member(key, value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return finish();
    }
  }

 private:
  [[nodiscard]] char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void expect(char c) {
    if (peek() != c) bad_record(fmt::format("is not a flat JSON object (expected '{}' at byte {})", c, pos_ + 1));
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void finish() {
    skip_space();
    if (pos_ != text_.size()) bad_record("has text after its end");
  }
  unsigned hex4() {
    if (pos_ + 4 > text_.size()) bad_record("ends inside a \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        bad_record("has a bad \\u escape");
      }
    }
    return value;
  }
  static void append_utf8(std::string& out, unsigned code_point) {
    if (code_point < 0x80) {
      out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
      out += static_cast<char>(0xC0 | (code_point >> 6));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
      out += static_cast<char>(0xE0 | (code_point >> 12));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code_point >> 18));
      out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
  }
  // After the opening quote; leaves pos_ after the closing one.
  void read_string(std::string& out) {
    out.clear();
    while (true) {
      const std::size_t run = text_.find_first_of("\"\\", pos_);
      if (run == std::string_view::npos) bad_record("ends inside a string");
      out.append(text_.substr(pos_, run - pos_));
      pos_ = run + 1;
      if (text_[run] == '"') return;
      if (pos_ >= text_.size()) bad_record("ends inside an escape");
      const char escaped = text_[pos_++];
      switch (escaped) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned code_point = hex4();
          if (code_point >= 0xD800 && code_point <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) bad_record("has a broken surrogate pair");
            code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code_point);
          break;
        }
        default: bad_record("has an unknown escape");
      }
    }
  }
  void read_number(std::string& out) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '-' || text_[pos_] == '+' ||
            text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
    }
    if (pos_ == start)
      bad_record(fmt::format("has a value that is neither a string nor a number at byte {}", start + 1));
    out.assign(text_.substr(start, pos_ - start));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::int64_t integer_text(const std::string& text, std::string_view name) {
  std::int64_t value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) bad_record(fmt::format("has a \"{}\" that is not an integer", name));
  return value;
}

Time micros_value(const Value& value, std::string_view name) {
  if (!value.is_string) bad_record(fmt::format("has a \"{}\" that is not a string of microseconds", name));
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::microseconds(integer_text(value.text, name))));
}

std::chrono::seconds seconds_value(const Value& value, std::string_view name) {
  if (value.is_string) bad_record(fmt::format("has a \"{}\" that is not whole seconds", name));
  return std::chrono::seconds(integer_text(value.text, name));
}

std::int64_t number_value(const Value& value, std::string_view name) {
  if (value.is_string) bad_record(fmt::format("has a \"{}\" that is not a number", name));
  return integer_text(value.text, name);
}

const std::string& string_value(const Value& value, std::string_view name) {
  if (!value.is_string) bad_record(fmt::format("has a \"{}\" that is not a string", name));
  return value.text;
}

// run<N>_rid or run<N>_started with 1 <= N <= kMaxOpenRuns.
struct RunMember {
  std::size_t index = 0;  // N - 1
  bool started = false;
};
std::optional<RunMember> run_member(std::string_view key) {
  key.remove_prefix(3);
  const std::size_t underscore = key.find('_');
  if (underscore == std::string_view::npos) return std::nullopt;
  const auto number = base::parse_decimal<std::size_t>(key.substr(0, underscore));
  if (!number || *number < 1 || *number > kMaxOpenRuns) return std::nullopt;
  const std::string_view what = key.substr(underscore + 1);
  if (what != "rid" && what != "started") return std::nullopt;
  return RunMember{*number - 1, what == "started"};
}

const std::string& field(const std::vector<Reply>& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].as_string() == name) return fields[i + 1].as_string();
  }
  throw ProtocolError(fmt::format("redis: an event has no field \"{}\"", name));
}

}  // namespace

std::string to_micros_text(Time time) {
  return fmt::format("{}", std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

ClientView decode_client(std::string_view json, std::optional<std::int64_t> credit_now) {
  // Every member but last_ok must be there; unknown ones (rate_limit_at, holder: the scripts'
  // own) are skipped.
  enum Member : std::size_t {
    kId,
    kState,
    kHealth,
    kInterval,
    kGrace,
    kMessage,
    kRemoteAddr,
    kBeats,
    kLastBeat,
    kNextDue,
    kDownAt,
    kRequired
  };
  static constexpr std::string_view kNames[kRequired] = {"id",        "state",    "health",      "interval",
                                                         "grace",     "message",  "remote_addr", "beats",
                                                         "last_beat", "next_due", "down_at"};
  ClientView client;
  std::bitset<kRequired> seen;
  std::optional<std::int64_t> credit_then;
  // run<N>_rid and run<N>_started, N from 1: which of them came.
  std::bitset<kMaxOpenRuns> run_rids;
  std::bitset<kMaxOpenRuns> run_starts;
  FlatObjectScanner(json).scan([&](const std::string& key, const Value& value) {
    if (key == "last_ok") {
      client.last_ok = micros_value(value, key);
      return;
    }
    if (key.starts_with("run")) {
      if (const auto run = run_member(key)) {
        if (client.runs.size() < run->index + 1) client.runs.resize(run->index + 1);
        if (run->started) {
          client.runs[run->index].started = micros_value(value, key);
          run_starts.set(run->index);
        } else {
          client.runs[run->index].rid = string_value(value, key);
          run_rids.set(run->index);
        }
        return;
      }
    }
    if (key == "paused") {
      client.paused = number_value(value, key) != 0;
      return;
    }
    if (key == "held") {
      client.held = number_value(value, key) != 0;
      return;
    }
    if (key == "last_duration") {
      const std::int64_t micros = integer_text(string_value(value, key), key);
      if (micros < 0) bad_record("has a negative last_duration");
      client.last_duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds(micros));
      return;
    }
    if (key == "exit_code") {
      const std::int64_t code = number_value(value, key);
      if (code < 0 || code > 255) bad_record("has an exit_code outside 0..255");
      client.exit_code = static_cast<std::uint8_t>(code);
      return;
    }
    if (key == "log_bytes") {
      const std::int64_t bytes = number_value(value, key);
      if (bytes < 0) bad_record("has a negative log_bytes");
      client.log_bytes = static_cast<std::size_t>(bytes);
      return;
    }
    if (key == "credit") {
      credit_then = integer_text(string_value(value, key), key);
      return;
    }
    std::size_t member = 0;
    while (member < kRequired && kNames[member] != key) ++member;
    if (member == kRequired) return;
    seen.set(member);
    switch (static_cast<Member>(member)) {
      case kId: client.id = string_value(value, key); break;
      case kState: {
        const auto state = client_state_from_string(string_value(value, key));
        if (!state) bad_record("has an unknown state");
        client.state = *state;
        break;
      }
      case kHealth: {
        const auto health = health_from_string(string_value(value, key));
        if (!health) bad_record("has an unknown health");
        client.health = *health;
        break;
      }
      case kInterval: client.interval = seconds_value(value, key); break;
      case kGrace: client.grace = seconds_value(value, key); break;
      case kMessage: client.message = string_value(value, key); break;
      case kRemoteAddr: client.remote_addr = string_value(value, key); break;
      case kBeats: {
        const std::int64_t beats = integer_text(string_value(value, key), key);
        if (beats < 0) bad_record("has a negative beat count");
        client.beats = static_cast<std::uint64_t>(beats);
        break;
      }
      case kLastBeat: client.last_beat = micros_value(value, key); break;
      case kNextDue: client.next_due = micros_value(value, key); break;
      case kDownAt: client.down_at = micros_value(value, key); break;
      case kRequired: break;
    }
  });
  if (!seen.all()) {
    for (std::size_t member = 0; member < kRequired; ++member) {
      if (!seen.test(member)) bad_record(fmt::format("has no \"{}\"", kNames[member]));
    }
  }
  if (run_rids != run_starts || run_starts.count() != client.runs.size()) {
    bad_record("has open runs that are not numbered 1.. with an rid and a start each");
  }
  if (credit_now && credit_then && client.state != ClientState::kDown && *credit_now != *credit_then) {
    const auto earned =
        std::chrono::duration_cast<Time::duration>(std::chrono::microseconds(*credit_now - *credit_then));
    client.next_due += earned;
    client.down_at += earned;
  }
  return client;
}

std::string encode_client(const ClientView& client) {
  Json object = {
      {"id", client.id},
      {"state", to_string(client.state)},
      {"health", to_string(client.health)},
      {"interval", client.interval.count()},
      {"grace", client.grace.count()},
      {"message", client.message},
      {"remote_addr", client.remote_addr},
      {"beats", fmt::format("{}", client.beats)},
      {"last_beat", to_micros_text(client.last_beat)},
      {"next_due", to_micros_text(client.next_due)},
      {"down_at", to_micros_text(client.down_at)},
  };
  if (client.last_ok) object["last_ok"] = to_micros_text(*client.last_ok);
  if (client.paused) object["paused"] = 1;
  if (client.held) object["held"] = 1;
  for (std::size_t i = 0; i < client.runs.size() && i < kMaxOpenRuns; ++i) {
    object[fmt::format("run{}_rid", i + 1)] = client.runs[i].rid;
    object[fmt::format("run{}_started", i + 1)] = to_micros_text(client.runs[i].started);
  }
  if (client.last_duration) {
    object["last_duration"] =
        fmt::format("{}", std::chrono::duration_cast<std::chrono::microseconds>(*client.last_duration).count());
  }
  if (client.exit_code) object["exit_code"] = *client.exit_code;
  object["log_bytes"] = client.log_bytes;
  // Replace, not throw: a message is validated UTF-8, but an id from a damaged state file may not be.
  return object.dump(-1, ' ', false, Json::error_handler_t::replace);
}

HistoryEntry decode_history_entry(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t space = line.find(' ', start);
    fields.push_back(line.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  const auto bad = [&](std::string_view why) -> HistoryEntry {
    throw ProtocolError(fmt::format("redis: a history entry '{}' {}", line.substr(0, 80), why));
  };
  const auto micros = [&](std::string_view text) {
    const auto value = base::parse_decimal<std::uint64_t>(text);
    if (!value) bad("has a time that is not microseconds");
    return std::chrono::microseconds(static_cast<std::int64_t>(*value));
  };
  HistoryEntry entry;
  if (fields.size() == 4 && fields[0] == "c") {
    entry.kind = HistoryKind::kChange;
    entry.at = Time(std::chrono::duration_cast<Time::duration>(micros(fields[1])));
    if (fields[2] != "-") {
      entry.from = client_state_from_string(fields[2]);
      if (!entry.from) return bad("has an unknown state");
    }
    const auto to = client_state_from_string(fields[3]);
    if (!to) return bad("has an unknown state");
    entry.to = *to;
    return entry;
  }
  if (fields.size() == 5 && fields[0] == "r") {
    entry.kind = HistoryKind::kRun;
    entry.at = Time(std::chrono::duration_cast<Time::duration>(micros(fields[1])));
    const auto result = health_from_string(fields[2]);
    if (!result) return bad("has an unknown result");
    entry.result = *result;
    if (fields[3] != "-") {
      const auto code = base::parse_decimal<std::uint8_t>(fields[3]);
      if (!code) return bad("has an exit status outside 0..255");
      entry.exit_code = *code;
    }
    entry.duration = std::chrono::duration_cast<std::chrono::milliseconds>(micros(fields[4]));
    return entry;
  }
  return bad("is neither a change nor a run");
}

PresenceEvent decode_event(const Reply& entry) {
  const auto& parts = entry.as_array();
  if (parts.size() != 2) throw ProtocolError("redis: a stream entry is not [id, fields]");
  const std::string& id = parts[0].as_string();
  const auto sequence = base::parse_decimal<std::uint64_t>(std::string_view(id).substr(0, id.find('-')));
  if (!sequence) throw ProtocolError(fmt::format("redis: the stream id '{}' is not <sequence>-0", id));
  const auto& fields = parts[1].as_array();

  PresenceEvent event;
  event.sequence = *sequence;
  const std::string& kind = field(fields, "kind");
  if (kind == "join") {
    event.kind = EventKind::kJoin;
  } else if (kind == "change") {
    event.kind = EventKind::kChange;
  } else if (kind == "leave") {
    event.kind = EventKind::kLeave;
  } else {
    throw ProtocolError(fmt::format("redis: an event of unknown kind '{}'", kind));
  }
  const std::string& previous = field(fields, "previous");
  if (!previous.empty()) {
    event.previous = client_state_from_string(previous);
    if (!event.previous) throw ProtocolError("redis: an event with an unknown previous state");
  }
  event.reason = field(fields, "reason") == "expired" ? LeaveReason::kExpired : LeaveReason::kSignedOff;
  event.client = decode_client(field(fields, "client"));
  return event;
}

}  // namespace pulse::presence::redis
