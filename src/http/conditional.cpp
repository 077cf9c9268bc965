// Conditional request decisions. Entity tags are compared as the RFC says: weakly for
// If-None-Match, strongly for If-Match and If-Range.
#include "pulse/http/conditional.hpp"

#include <fmt/format.h>

#include "pulse/http/http_date.hpp"
#include "pulse/http/request.hpp"

namespace pulse::http {
namespace {

struct EntityTag {
  std::string_view opaque;  // with its quotes
  bool weak = false;
};

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, where etagc may be ',' — so the list is scanned
// tag by tag, not split on commas. Returns false on a malformed list.
template <typename Visit>
bool for_each_entity_tag(std::string_view list, Visit&& visit) {
  while (true) {
    while (!list.empty() && (list.front() == ' ' || list.front() == '\t' || list.front() == ',')) {
      list.remove_prefix(1);
    }
    if (list.empty()) return true;
    EntityTag tag;
    if (list.substr(0, 2) == "W/") {
      tag.weak = true;
      list.remove_prefix(2);
    }
    if (list.empty() || list.front() != '"') return false;
    const auto close = list.find('"', 1);
    if (close == std::string_view::npos) return false;
    tag.opaque = list.substr(0, close + 1);
    list.remove_prefix(close + 1);
    if (visit(tag)) return true;  // the visitor found what it looked for
    list = trim_ows(list);
    if (!list.empty() && list.front() != ',') return false;
  }
}

// "*" or a list containing our tag. Weak comparison ignores the W/ prefix; strong comparison
// needs both tags strong (ours always is).
bool tag_list_matches(std::string_view value, const std::string& etag, bool strong) {
  value = trim_ows(value);
  if (value == "*") return true;
  bool matched = false;
  const bool well_formed = for_each_entity_tag(value, [&](const EntityTag& tag) {
    matched = tag.opaque == etag && !(strong && tag.weak);
    return matched;
  });
  return well_formed && matched;
}

}  // namespace

std::string make_etag(std::uint64_t inode, std::uint64_t size, std::int64_t mtime_ns) {
  return fmt::format("\"{:x}-{:x}-{:x}\"", inode, size, static_cast<std::uint64_t>(mtime_ns));
}

std::string_view to_string(Precondition precondition) noexcept {
  switch (precondition) {
    case Precondition::kProceed: return "proceed";
    case Precondition::kNotModified: return "not modified";
    case Precondition::kPreconditionFailed: return "precondition failed";
  }
  return "unknown";
}

Precondition evaluate_preconditions(const ConditionalHeaders& headers, const Validators& validators) {
  // Step 1-2: If-Match, or If-Unmodified-Since when there is no If-Match.
  if (headers.if_match) {
    if (!tag_list_matches(*headers.if_match, validators.etag, /*strong=*/true)) {
      return Precondition::kPreconditionFailed;
    }
  } else if (headers.if_unmodified_since) {
    // An invalid date is ignored, as if the header were absent (section 13.1.4).
    const auto date = parse_http_date(*headers.if_unmodified_since);
    if (date && validators.last_modified > *date) return Precondition::kPreconditionFailed;
  }

  // Step 3-4: If-None-Match, or If-Modified-Since when there is no If-None-Match.
  if (headers.if_none_match) {
    return tag_list_matches(*headers.if_none_match, validators.etag, /*strong=*/false) ? Precondition::kNotModified
                                                                                       : Precondition::kProceed;
  }
  if (headers.if_modified_since) {
    const auto date = parse_http_date(*headers.if_modified_since);
    if (date && validators.last_modified <= *date) return Precondition::kNotModified;
  }
  return Precondition::kProceed;
}

bool if_range_holds(std::string_view if_range, const Validators& validators) {
  if_range = trim_ows(if_range);
  if (if_range.empty()) return false;
  if (if_range.front() == '"' || if_range.substr(0, 2) == "W/") {
    // Exactly one entity-tag, compared strongly: a weak tag never validates a range.
    std::size_t count = 0;
    bool matched = false;
    const bool well_formed = for_each_entity_tag(if_range, [&](const EntityTag& tag) {
      ++count;
      matched = !tag.weak && tag.opaque == validators.etag;
      return false;
    });
    return well_formed && count == 1 && matched;
  }
  const auto date = parse_http_date(if_range);
  return date && *date == validators.last_modified;
}

}  // namespace pulse::http
