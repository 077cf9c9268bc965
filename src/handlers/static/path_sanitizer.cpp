// Request path -> docroot-relative path. Decoding happens exactly once, before normalising, so
// "%2e%2e" is ".." (and resolved), while "%252e" stays the literal name "%2e".
#include "pulse/handlers/static/path_sanitizer.hpp"

#include "pulse/http/request.hpp"

namespace pulse::handlers::static_files {
namespace {

bool is_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}

// RFC 3986 unreserved characters plus the sub-delims and '@' that are safe in a path segment.
bool keep_in_url(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case '@':
    case '/': return true;
    default: return false;
  }
}

}  // namespace

std::string_view to_string(PathStatus status) noexcept {
  switch (status) {
    case PathStatus::kOk: return "ok";
    case PathStatus::kNotAbsolute: return "path does not start with '/'";
    case PathStatus::kBadEscape: return "malformed percent-escape";
    case PathStatus::kControlByte: return "control character in path";
    case PathStatus::kAboveRoot: return "path climbs above the document root";
  }
  return "unknown";
}

bool is_hidden_name(std::string_view name) noexcept {
  return !name.empty() && name.front() == '.' && name != ".well-known";
}

SanitizedPath sanitize_path(std::string_view raw_path) {
  SanitizedPath result;
  if (raw_path.empty() || raw_path.front() != '/') {
    result.status = PathStatus::kNotAbsolute;
    return result;
  }
  auto decoded = http::percent_decode(raw_path, /*plus_as_space=*/false);
  if (!decoded) {
    result.status = PathStatus::kBadEscape;
    return result;
  }
  for (const char c : *decoded) {
    if (is_control(static_cast<unsigned char>(c))) {
      result.status = PathStatus::kControlByte;
      return result;
    }
  }

  // Segments between slashes, appended to `relative` as they come; ".." takes the last one off
  // again. No list of segments: a plain path needs no allocation beyond its own string.
  std::string& relative = result.relative;
  std::string_view rest = std::string_view(*decoded).substr(1);
  bool last_was_dot_segment = false;
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    last_was_dot_segment = segment.empty() || segment == "." || segment == "..";
    if (segment == "..") {
      if (relative.empty()) {
        result.status = PathStatus::kAboveRoot;
        return result;
      }
      const auto cut = relative.rfind('/');
      relative.resize(cut == std::string::npos ? 0 : cut);
    } else if (!segment.empty() && segment != ".") {
      if (!relative.empty()) relative.push_back('/');
      relative.append(segment);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // An empty, "." or ".." final segment leaves the path naming a directory: "/a/", "/a/.", "/a/b/..".
  result.directory_form = last_was_dot_segment;

  for (std::string_view kept = relative; !kept.empty();) {
    const auto slash = kept.find('/');
    if (is_hidden_name(kept.substr(0, slash))) {
      result.has_hidden_component = true;
      break;
    }
    if (slash == std::string_view::npos) break;
    kept.remove_prefix(slash + 1);
  }
  return result;
}

std::string encode_path(std::string_view decoded) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(decoded.size());
  for (const char c : decoded) {
    const auto byte = static_cast<unsigned char>(c);
    if (keep_in_url(byte)) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

}  // namespace pulse::handlers::static_files
