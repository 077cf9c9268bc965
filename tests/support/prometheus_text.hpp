// A strict reader of the Prometheus text exposition format 0.0.4, for tests: it checks what a
// scraper relies on (names, labels, values, HELP/TYPE before and once per family, families not
// interleaved, a final newline) and gives the samples back for assertions.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::test {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PrometheusText {
  std::vector<PrometheusSample> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, ...
  std::map<std::string, std::string> help;
  std::vector<std::string> errors;  // empty when the text is valid

  // The value of the sample with exactly these labels, if present.
  [[nodiscard]] std::optional<double> value(std::string_view name,
                                            const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& sample : samples) {
      if (sample.name == name && sample.labels == labels) return sample.value;
    }
    return std::nullopt;
  }
};

namespace prometheus_detail {

inline bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
inline bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// Consumes a metric (or, without ':', label) name from the front of `text`.
inline std::optional<std::string> take_name(std::string_view& text, bool allow_colon) {
  std::size_t n = 0;
  while (n < text.size() && is_name_char(text[n]) && (allow_colon || text[n] != ':')) {
    if (n == 0 && !is_name_start(text[n])) return std::nullopt;
    ++n;
  }
  if (n == 0) return std::nullopt;
  std::string name(text.substr(0, n));
  text.remove_prefix(n);
  return name;
}

inline std::optional<double> parse_value(std::string_view text) {
  if (text == "NaN") return 0.0;
  if (text == "+Inf" || text == "-Inf") return 0.0;
  if (text.empty()) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

}  // namespace prometheus_detail

inline PrometheusText parse_prometheus_text(std::string_view text) {
  using namespace prometheus_detail;
  PrometheusText result;
  auto error = [&](std::size_t line_number, const std::string& what) {
    result.errors.push_back("line " + std::to_string(line_number) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') result.errors.emplace_back("the text does not end with a newline");

  static const std::set<std::string, std::less<>> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
  std::set<std::string, std::less<>> finished_families;  // families whose samples are over
  std::string current_family;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    if (line.empty()) continue;

    if (line.front() == '#') {
      std::string_view rest = line.substr(1);
      if (!rest.starts_with(" HELP ") && !rest.starts_with(" TYPE ")) continue;  // a plain comment
      const bool is_type = rest.starts_with(" TYPE ");
      rest.remove_prefix(6);
      const auto name = take_name(rest, true);
      if (!name || rest.empty() || rest.front() != ' ') {
        error(line_number, "malformed HELP/TYPE line");
        continue;
      }
      rest.remove_prefix(1);
      auto& table = is_type ? result.types : result.help;
      if (table.count(*name) != 0)
        error(line_number, "second " + std::string(is_type ? "TYPE" : "HELP") + " for " + *name);
      if (is_type && kTypes.count(rest) == 0) error(line_number, "unknown type " + std::string(rest));
      if (is_type && (finished_families.count(*name) != 0 || current_family == *name)) {
        error(line_number, "TYPE for " + *name + " after its samples");
      }
      table[*name] = std::string(rest);
      continue;
    }

    PrometheusSample sample;
    std::string_view rest = line;
    const auto name = take_name(rest, true);
    if (!name) {
      error(line_number, "sample without a metric name");
      continue;
    }
    sample.name = *name;
    if (!rest.empty() && rest.front() == '{') {
      rest.remove_prefix(1);
      bool ok = true;
      while (ok && !rest.empty() && rest.front() != '}') {
        const auto label = take_name(rest, false);
        if (!label || rest.size() < 2 || rest.substr(0, 2) != "=\"") {
          ok = false;
          break;
        }
        rest.remove_prefix(2);
        std::string value;
        while (!rest.empty() && rest.front() != '"') {
          if (rest.front() == '\\' && rest.size() > 1) {
            const char escaped = rest[1];
            value.push_back(escaped == 'n' ? '\n' : escaped);
            rest.remove_prefix(2);
          } else {
            value.push_back(rest.front());
            rest.remove_prefix(1);
          }
        }
        if (rest.empty()) {
          ok = false;
          break;
        }
        rest.remove_prefix(1);  // closing quote
        if (!sample.labels.emplace(*label, std::move(value)).second) ok = false;
        if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
      }
      if (!ok || rest.empty() || rest.front() != '}') {
        error(line_number, "malformed labels in: " + std::string(line));
        continue;
      }
      rest.remove_prefix(1);
    }
    if (rest.empty() || rest.front() != ' ') {
      error(line_number, "no value in: " + std::string(line));
      continue;
    }
    rest.remove_prefix(1);
    const auto space = rest.find(' ');  // an optional timestamp follows
    const auto value = parse_value(rest.substr(0, space));
    if (!value) {
      error(line_number, "bad value in: " + std::string(line));
      continue;
    }
    sample.value = *value;

    // A sample's family is its own name, but for a histogram's _bucket, _sum and _count.
    std::string family = sample.name;
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!family.ends_with(suffix)) continue;
      const std::string base = family.substr(0, family.size() - suffix.size());
      const auto type = result.types.find(base);
      if (type != result.types.end() && type->second == "histogram") family = base;
      break;
    }
    if (family != current_family) {
      if (finished_families.count(family) != 0) error(line_number, "family " + family + " is interleaved");
      if (!current_family.empty()) finished_families.insert(current_family);
      current_family = family;
    }
    if (result.types.count(family) == 0) error(line_number, "sample of " + sample.name + " before its TYPE");
    result.samples.push_back(std::move(sample));
  }
  return result;
}

}  // namespace pulse::test
