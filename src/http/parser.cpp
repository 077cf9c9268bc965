// RequestParser: llhttp callbacks fill a Request; the parser pauses at each message end so the
// caller answers requests strictly one after another.
#include "pulse/http/parser.hpp"

#include <fmt/format.h>

namespace pulse::http {
namespace {

RequestParser& self(llhttp_t* parser) {
  return *static_cast<RequestParser*>(parser->data);
}

// RFC 9110 section 5.6.2: token characters.
bool is_tchar(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Bytes of framing a header line adds beyond its name and value (": " and CRLF).
constexpr std::size_t kHeaderLineOverhead = 4;

}  // namespace

RequestParser::RequestParser(const Limits& limits) : limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &RequestParser::on_message_begin;
  settings_.on_method = &RequestParser::on_method;
  settings_.on_url = &RequestParser::on_url;
  settings_.on_version = &RequestParser::on_version;
  settings_.on_chunk_extension_name = &RequestParser::on_chunk_extension;
  settings_.on_chunk_extension_value = &RequestParser::on_chunk_extension;
  settings_.on_header_field = &RequestParser::on_header_field;
  settings_.on_header_value = &RequestParser::on_header_value;
  settings_.on_headers_complete = &RequestParser::on_headers_complete;
  settings_.on_body = &RequestParser::on_body;
  settings_.on_message_complete = &RequestParser::on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

RequestParser::Result RequestParser::feed(std::string_view data) {
  if (error_status_ != 0) return {Event::kError, 0};
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  if (data.empty()) return {Event::kNeedMore, 0};

  feed_data_ = data.data();
  if (!method_complete_) collect_method(data);
  if (method_error_pending_) {
    // llhttp is already in its error state: only the rest of the method token matters now.
    if (!method_complete_ && method_token_.size() < kMaxMethodBytes) return {Event::kNeedMore, data.size()};
    return error_result(HPE_INVALID_METHOD, data);
  }
  if (!head_scanned_) {
    if (const auto bare_lf = find_bare_lf(data)) {
      // llhttp sees what precedes the bare LF first, so that an earlier error in the head (an
      // unknown version, an oversized target) is the one reported, however the reads fall.
      const llhttp_errno_t before = llhttp_execute(&parser_, data.data(), *bare_lf);
      if (before != HPE_OK && before != HPE_PAUSED) return error_result(before, data);
      fail(400, "a line of the request head ends in a bare LF, not CRLF");
      return {Event::kError, 0};
    }
  }
  const llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  if (err == HPE_OK) {
    remember_tail(data);
    fed_before_ += data.size();
    return {Event::kNeedMore, data.size()};
  }

  const char* pos = llhttp_get_error_pos(&parser_);
  const std::size_t consumed = pos == nullptr ? data.size() : static_cast<std::size_t>(pos - data.data());
  if (err == HPE_PAUSED) {
    remember_tail(data.substr(0, consumed));
    fed_before_ += consumed;
    if (!message_ready_) return {Event::kExpectContinue, consumed};
    head_scanned_ = false;  // the next message's head starts right after this one
    head_has_line_ = false;
    method_token_.clear();
    method_complete_ = false;
    method_ended_by_space_ = false;  // the next feed() starts at the next message
    // llhttp takes a bare LF for the CRLF that ends a chunked message's trailer section; a proxy
    // in front may not, and then the two disagree on where the next request starts.
    if ((parser_.flags & F_CHUNKED) != 0 && (tail_[0] != '\r' || tail_[1] != '\n')) {
      fail(400, "chunked message does not end in CRLF");
      return {Event::kError, 0};
    }
    return {Event::kRequest, consumed};
  }
  return error_result(err, data);
}

bool RequestParser::collect_method(std::string_view data) noexcept {
  for (const char c : data) {
    if (method_token_.empty() && (c == '\r' || c == '\n')) continue;  // empty lines before a request
    if (!is_tchar(static_cast<unsigned char>(c)) || method_token_.size() >= kMaxMethodBytes) {
      method_complete_ = true;
      method_ended_by_space_ = c == ' ';
      return true;
    }
    method_token_ += c;
  }
  return false;
}

std::optional<int> RequestParser::judge_method() const noexcept {
  if (!method_complete_) return std::nullopt;
  return method_ended_by_space_ && !method_token_.empty() ? 501 : 400;
}

std::optional<std::size_t> RequestParser::find_bare_lf(std::string_view data) noexcept {
  std::size_t from = 0;
  while (from < data.size()) {
    const auto lf = data.find('\n', from);
    if (lf == std::string_view::npos) {
      line_bytes_ += data.size() - from;
      last_scanned_ = data.back();
      return std::nullopt;
    }
    const char before = lf > 0 ? data[lf - 1] : last_scanned_;
    if (before != '\r') return lf;
    line_bytes_ += lf - from;
    const bool empty_line = line_bytes_ == 1;  // just the CR
    line_bytes_ = 0;
    last_scanned_ = '\n';
    from = lf + 1;
    if (empty_line && head_has_line_) {
      head_scanned_ = true;  // the body, if any, is not lines
      return std::nullopt;
    }
    if (!empty_line) head_has_line_ = true;
  }
  return std::nullopt;
}

void RequestParser::remember_tail(std::string_view consumed) noexcept {
  if (consumed.size() >= 2) {
    tail_[0] = consumed[consumed.size() - 2];
    tail_[1] = consumed.back();
  } else if (consumed.size() == 1) {
    tail_[0] = tail_[1];
    tail_[1] = consumed.front();
  }
}

RequestParser::Result RequestParser::error_result(llhttp_errno_t err, std::string_view data) {
  if (error_status_ == 0) {
    switch (err) {
      case HPE_INVALID_METHOD: {
        // A well-formed token we do not know is "not implemented"; garbage is a bad request.
        // llhttp fails at the first byte no method has, which may come before the token's end:
        // wait for the rest of it, so that the answer does not depend on where a read ended.
        const auto status = judge_method();
        if (!status) {
          method_error_pending_ = true;
          return {Event::kNeedMore, data.size()};
        }
        error_status_ = *status;
        error_reason_ = *status == 501 ? "method not implemented" : "malformed request line";
        break;
      }
      case HPE_INVALID_VERSION: {
        // llhttp says "Invalid HTTP version" only for a well-formed HTTP/d.d it does not know
        // (505); a malformed version ("HTTP/1.x", "HTTP/1.10", "HTTP/1.1 ") is a bad request.
        const char* reason = llhttp_get_error_reason(&parser_);
        const bool well_formed = reason != nullptr && std::string_view(reason) == "Invalid HTTP version";
        error_status_ = well_formed ? 505 : 400;
        error_reason_ = well_formed ? "only HTTP/1.0 and HTTP/1.1 are supported" : "malformed HTTP version";
        break;
      }
      case HPE_PAUSED_H2_UPGRADE:
        error_status_ = 505;
        error_reason_ = "HTTP/2 is not supported";
        break;
      default:
        error_status_ = 400;
        error_reason_ =
            llhttp_get_error_reason(&parser_) != nullptr ? llhttp_get_error_reason(&parser_) : llhttp_errno_name(err);
        break;
    }
  }
  return {Event::kError, 0};
}

Request RequestParser::take_request() {
  message_ready_ = false;
  return std::move(request_);
}

int RequestParser::fail(int status, std::string reason) {
  error_status_ = status;
  error_reason_ = std::move(reason);
  return HPE_USER;
}

int RequestParser::check_header_bytes(std::size_t added) {
  header_bytes_ += added;
  if (header_bytes_ > limits_.max_header_bytes) {
    return fail(431, fmt::format("request line and headers exceed {} bytes", limits_.max_header_bytes));
  }
  return 0;
}

int RequestParser::on_message_begin(llhttp_t* parser) {
  auto& p = self(parser);
  p.request_ = Request{};
  p.request_.target.clear();
  p.request_.path.clear();
  p.in_message_ = true;
  p.headers_complete_ = false;
  p.last_was_value_ = false;
  p.message_ready_ = false;
  p.header_bytes_ = 0;
  p.trailer_fields_ = 0;
  p.method_bytes_ = 0;
  p.version_seen_ = false;
  p.has_transfer_encoding_ = false;
  return 0;
}

int RequestParser::on_method(llhttp_t* parser, const char* at, std::size_t length) {
  auto& p = self(parser);
  if (p.method_bytes_ == 0) p.method_at_ = p.offset_of(at);
  p.method_bytes_ += length;
  return 0;
}

int RequestParser::on_url(llhttp_t* parser, const char* at, std::size_t length) {
  auto& p = self(parser);
  if (p.request_.target.empty()) {
    // llhttp skips any run of spaces after the method; the grammar allows exactly one.
    p.target_at_ = p.offset_of(at);
    if (p.target_at_ != p.method_at_ + p.method_bytes_ + 1) return p.fail(400, "more than one space after the method");
  }
  p.request_.target.append(at, length);
  if (p.request_.target.size() > p.limits_.max_uri_bytes) {
    return p.fail(414, fmt::format("request-target exceeds {} bytes", p.limits_.max_uri_bytes));
  }
  return p.check_header_bytes(length);
}

int RequestParser::on_version(llhttp_t* parser, const char* at, std::size_t length) {
  auto& p = self(parser);
  if (!p.version_seen_) {
    p.version_seen_ = true;
    // The digits start right after "<target> HTTP/": one space, no more.
    constexpr std::uint64_t kSpaceAndProtocol = 1 + 5;
    if (p.offset_of(at) != p.target_at_ + p.request_.target.size() + kSpaceAndProtocol) {
      return p.fail(400, "more than one space before the HTTP version");
    }
  }
  return p.check_header_bytes(length);
}

int RequestParser::on_trailer_field(std::size_t length) {
  // Trailers are read and counted, never merged into the headers: a trailer must not be able to
  // change Host, Content-Type, Range or Connection after the request was validated.
  if (last_was_value_ || trailer_fields_ == 0) {
    if (request_.headers.size() + ++trailer_fields_ > limits_.max_header_count) {
      return fail(431, fmt::format("more than {} header and trailer fields", limits_.max_header_count));
    }
    last_was_value_ = false;
    if (int rc = check_header_bytes(kHeaderLineOverhead); rc != 0) return rc;
  }
  return check_header_bytes(length);
}

int RequestParser::on_chunk_extension(llhttp_t* parser, const char*, std::size_t length) {
  // Chunk extensions are ignored, but count against the header limit: they are unbounded
  // otherwise (megabytes of them could precede a one-byte chunk).
  return self(parser).check_header_bytes(length);
}

int RequestParser::on_header_field(llhttp_t* parser, const char* at, std::size_t length) {
  auto& p = self(parser);
  if (p.headers_complete_) return p.on_trailer_field(length);
  auto& headers = p.request_.headers;
  if (headers.empty() || p.last_was_value_) {
    if (headers.size() >= p.limits_.max_header_count) {
      return p.fail(431, fmt::format("more than {} header fields", p.limits_.max_header_count));
    }
    headers.emplace_back();
    p.last_was_value_ = false;
    if (int rc = p.check_header_bytes(kHeaderLineOverhead); rc != 0) return rc;
  }
  headers.back().name.append(at, length);
  return p.check_header_bytes(length);
}

int RequestParser::on_header_value(llhttp_t* parser, const char* at, std::size_t length) {
  auto& p = self(parser);
  const std::uint64_t at_offset = p.offset_of(at);
  // A value continues across feeds without a gap; a gap means llhttp skipped a fold's CRLF and
  // white space (obs-fold, RFC 9112 section 5.2), which we reject rather than unfold.
  if (p.last_was_value_ && at_offset != p.value_end_) return p.fail(400, "obsolete line folding");
  p.last_was_value_ = true;
  p.value_end_ = at_offset + length;
  if (p.headers_complete_) return p.check_header_bytes(length);
  p.request_.headers.back().value.append(at, length);
  return p.check_header_bytes(length);
}

int RequestParser::validate_headers() {
  int host_count = 0;
  for (const auto& h : request_.headers) {
    // llhttp lets "Name : value" through; RFC 9112 section 5.1 requires a 400 (smuggling risk).
    if (!is_token(h.name)) return fail(400, "invalid header field name");
    if (iequals(h.name, "Host")) ++host_count;
    if (iequals(h.name, "Transfer-Encoding")) has_transfer_encoding_ = true;
  }
  if (host_count > 1) return fail(400, "more than one Host header");
  if (host_count == 0 && request_.version_minor >= 1) return fail(400, "HTTP/1.1 request without Host");
  return 0;
}

int RequestParser::validate_transfer_encoding() {
  if (!has_transfer_encoding_) return 0;  // an empty value sets no llhttp flag: look at the fields
  // RFC 9112 section 6.1: a 1.0 message with Transfer-Encoding has untrustworthy framing.
  if (request_.version_minor == 0) return fail(400, "HTTP/1.0 request with Transfer-Encoding");
  const std::string codings = request_.header_list("Transfer-Encoding");
  std::size_t count = 0;
  std::size_t chunked_count = 0;
  bool chunked_last = false;
  bool unknown = false;
  const std::string_view list = codings;
  for (std::size_t start = 0; start <= list.size();) {
    const auto comma = list.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? list.size() : comma;
    const std::string_view element = trim_ows(list.substr(start, end - start));
    start = end + 1;
    if (element.empty()) continue;  // empty list elements are allowed (RFC 9110 section 5.6.1)
    ++count;
    chunked_last = iequals(element, "chunked");
    if (chunked_last) {
      ++chunked_count;
    } else {
      unknown = true;  // gzip, identity, "chunked;x=1", anything: only chunked is decoded here
    }
  }
  if (count == 0) return fail(400, "empty Transfer-Encoding");
  if (chunked_count > 1) return fail(400, "chunked applied more than once");
  if (chunked_count == 1 && !chunked_last) return fail(400, "chunked is not the final transfer coding");
  if (unknown) return fail(501, "only the chunked transfer coding is implemented");
  return 0;
}

int RequestParser::normalize_target() {
  auto& request = request_;
  // Absolute-form ("GET http://host/path HTTP/1.1") must be accepted (RFC 9112 section 3.2.2);
  // its authority replaces Host.
  std::string_view target = request.target;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      const auto rest = target.substr(scheme.size());
      const auto slash = rest.find_first_of("/?");
      const auto authority = rest.substr(0, slash);
      if (authority.empty()) return fail(400, "absolute-form target without authority");
      std::string origin = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
      if (origin.front() == '?') origin.insert(0, "/");
      std::erase_if(request.headers, [](const Header& h) { return iequals(h.name, "Host"); });
      request.headers.push_back({"Host", std::string(authority)});
      request.target = std::move(origin);
      break;
    }
  }
  if (request.target == "*") {
    // Asterisk-form exists only for OPTIONS (RFC 9112 section 3.2.4).
    if (request.method != Method::kOptions) return fail(400, "'*' is only valid with OPTIONS");
    request.path = "*";
    request.query.clear();
    return 0;
  }
  if (request.target.empty() || request.target.front() != '/') return fail(400, "request-target must start with '/'");
  split_target(request.target, request.path, request.query);
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* parser) {
  auto& p = self(parser);
  auto& request = p.request_;
  p.headers_complete_ = true;
  request.version_major = llhttp_get_http_major(parser);
  request.version_minor = llhttp_get_http_minor(parser);
  if (!p.version_seen_) return p.fail(400, "request line without an HTTP version");
  if (request.version_major != 1) {
    return p.fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  request.method_name = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(parser)));
  request.method = method_from_string(request.method_name);
  if (request.method == Method::kConnect) return p.fail(501, "CONNECT is not supported");
  if (int rc = p.normalize_target(); rc != 0) return rc;
  if (int rc = p.validate_headers(); rc != 0) return rc;

  // Upgrade (WebSocket, h2c) is not offered: clearing the flag here, before llhttp acts on it,
  // makes it parse what follows as the next HTTP/1.1 request.
  parser->upgrade = 0;
  if (int rc = p.validate_transfer_encoding(); rc != 0) return rc;
  const bool chunked = (parser->flags & F_CHUNKED) != 0;
  const bool has_length = (parser->flags & F_CONTENT_LENGTH) != 0;
  if (has_length && parser->content_length > p.limits_.max_body_bytes) {
    return p.fail(413, fmt::format("request body exceeds {} bytes", p.limits_.max_body_bytes));
  }
  if (auto expect = request.header("Expect")) {
    if (!iequals(*expect, "100-continue")) return p.fail(417, "only Expect: 100-continue is supported");
    // HTTP/1.0 clients do not understand 100 (RFC 9110 section 10.1.1); no body, nothing to wait for.
    const bool body_follows = chunked || (has_length && parser->content_length > 0);
    if (request.version_minor >= 1 && body_follows) return HPE_PAUSED;
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* parser, const char* at, std::size_t length) {
  auto& p = self(parser);
  if (p.request_.body.size() + length > p.limits_.max_body_bytes) {
    return p.fail(413, fmt::format("request body exceeds {} bytes", p.limits_.max_body_bytes));
  }
  p.request_.body.append(at, length);
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* parser) {
  auto& p = self(parser);
  p.in_message_ = false;
  p.message_ready_ = true;
  return HPE_PAUSED;
}

}  // namespace pulse::http
