// CurlClient: one easy handle inside one multi handle. Every transfer runs through the multi
// handle, even a plain request: the connection cache lives there (so it outlasts each transfer),
// and curl_multi_poll can wait on a descriptor of ours too, which is how a held stream stops at
// once on Ctrl-C instead of at curl's next progress tick.
#include "pulse/app/curl_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <exception>

#include <fmt/format.h>

namespace pulse::app {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A response body past this is refused (the clients here read short JSON or text).
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;
// Of a non-2xx answer to a stream, only the start is kept: it is for the message.
constexpr std::size_t kMaxErrorBodyBytes = 1024;
// curl_multi_poll wakes at least this often: curl's own timers (connect, TLS) need it.
constexpr int kMaxPollMs = 1000;
// TCP keepalive on every connection: a peer that vanished without a FIN (NAT, cable) is found
// even while a held stream waits for its next bytes.
constexpr long kKeepIdleSeconds = 15;
constexpr long kKeepIntervalSeconds = 5;

// curl_global_init is not thread-safe against other libcurl calls in the process; a magic
// static runs it exactly once, whichever thread gets here first. Never cleaned up: the process
// exit does that, and a cleanup racing another thread's transfer would be worse.
void global_init() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) throw CurlError(fmt::format("curl_global_init: {}", curl_easy_strerror(result)));
}

struct SlistFree {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

struct UrlFree {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

struct CurlFree {
  void operator()(char* text) const noexcept { curl_free(text); }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// no_proxy as curl would read it from the environment, plus loopback. A proxy elsewhere would
// reach its own loopback, never ours, so these always go direct: above all `pulsehttpd probe`'s
// check of 127.0.0.1 in a container whose environment names an outgoing proxy. Read at each
// transfer, as curl reads the environment. (Setting CURLOPT_NOPROXY replaces the variable, hence
// the copy.)
std::string no_proxy_list() {
  std::string list = "localhost,127.0.0.0/8,::1";
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      if (std::string_view(value) == "*") return "*";
      list += ',';
      list += value;
      break;  // curl reads the lower-case one first, the other only without it
    }
  }
  return list;
}

}  // namespace

// The per-transfer state the callbacks see (through CURLOPT_*DATA).
struct Transfer {
  CURL* easy = nullptr;
  CurlResponse response;
  bool streaming = false;
  const std::function<void(std::string_view)>* on_data = nullptr;
  int status = 0;  // of the response whose body is arriving (read once, at its first byte)
  SteadyClock::time_point last_bytes = SteadyClock::now();
  std::exception_ptr failure;  // thrown by on_data; rethrown once curl has unwound
  bool too_big = false;

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::string_view line(data, size * count);
    t.last_bytes = SteadyClock::now();
    if (line.starts_with("HTTP/")) {
      t.response.headers.clear();  // a new response head (after 100 Continue, say)
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      t.response.headers.push_back(
          {std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
    }
    return size * count;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::string_view bytes(data, size * count);
    t.last_bytes = SteadyClock::now();
    if (t.status == 0) {
      long code = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
      t.status = static_cast<int>(code);
    }
    if (t.streaming && t.status / 100 == 2) {
      try {
        (*t.on_data)(bytes);
      } catch (...) {
        t.failure = std::current_exception();
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
      }
      return bytes.size();
    }
    const std::size_t limit = t.streaming ? kMaxErrorBodyBytes : kMaxBodyBytes;
    if (t.response.body.size() + bytes.size() > limit) {
      if (t.streaming) {
        t.response.body.append(bytes.substr(0, limit - std::min(limit, t.response.body.size())));
        return bytes.size();  // the rest of an error page is not needed, but read it to the end
      }
      t.too_big = true;
      return 0;
    }
    t.response.body.append(bytes);
    return bytes.size();
  }
};

struct CurlClient::Handles {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  Handles() {
    global_init();
    easy = curl_easy_init();
    multi = curl_multi_init();
    if (easy == nullptr || multi == nullptr) {
      cleanup();
      throw CurlError("curl: cannot create a handle");
    }
  }
  ~Handles() { cleanup(); }
  Handles(const Handles&) = delete;
  Handles& operator=(const Handles&) = delete;

  void cleanup() noexcept {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);  // closes the cached connections
    easy = nullptr;
    multi = nullptr;
  }

  // Runs the prepared transfer to its end, or until `idle` without bytes, or until `cancel_fd`
  // is readable. The easy handle is always taken back out of the multi handle.
  CURLcode run(Transfer& t, std::optional<std::chrono::milliseconds> idle, int cancel_fd, StreamEnd& end) {
    if (const auto mc = curl_multi_add_handle(multi, easy); mc != CURLM_OK) throw CurlError(curl_multi_strerror(mc));
    struct Remove {
      Handles& h;
      ~Remove() { curl_multi_remove_handle(h.multi, h.easy); }  // mid-transfer: that connection is closed
    } remove{*this};
    end = StreamEnd::kClosed;
    t.last_bytes = SteadyClock::now();
    for (;;) {
      int running = 0;
      if (const auto mc = curl_multi_perform(multi, &running); mc != CURLM_OK) throw CurlError(curl_multi_strerror(mc));
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
        if (message->msg == CURLMSG_DONE && message->easy_handle == easy) return message->data.result;
      }
      if (running == 0) return CURLE_OK;
      int wait_ms = kMaxPollMs;
      if (idle) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(t.last_bytes + *idle - SteadyClock::now());
        if (left.count() <= 0) {
          end = StreamEnd::kIdle;
          return CURLE_OK;
        }
        wait_ms = static_cast<int>(std::min<std::int64_t>(wait_ms, left.count()));
      }
      curl_waitfd extra{cancel_fd, CURL_WAIT_POLLIN, 0};
      const unsigned extra_count = cancel_fd >= 0 ? 1 : 0;
      if (const auto mc = curl_multi_poll(multi, extra_count != 0 ? &extra : nullptr, extra_count, wait_ms, nullptr);
          mc != CURLM_OK) {
        throw CurlError(curl_multi_strerror(mc));
      }
      if (extra_count != 0 && (extra.revents & CURL_WAIT_POLLIN) != 0) {
        end = StreamEnd::kCancelled;
        return CURLE_OK;
      }
    }
  }
};

CurlClient::CurlClient(CurlOptions options) : handles_(std::make_unique<Handles>()), options_(std::move(options)) {
  CURL* easy = handles_->easy;
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: other threads may be running
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "pulsehttpd/" PULSE_VERSION);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, handles_->error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, kKeepIdleSeconds);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, kKeepIntervalSeconds);
  // Verification is libcurl's default; said here so that nobody has to wonder.
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
}

CurlClient::~CurlClient() = default;

std::uint64_t CurlClient::connections() const noexcept {
  long current = 0;
  if (in_transfer_) curl_easy_getinfo(handles_->easy, CURLINFO_NUM_CONNECTS, &current);
  return connections_ + static_cast<std::uint64_t>(std::max(0L, current));
}

namespace {

// The request's headers as curl takes them, with curl's own defaults that would be wrong here
// removed: "Expect: 100-continue" (one more round trip for a body curl thinks large) and a
// Content-Type of application/x-www-form-urlencoded on every POST (a beat's body is a log, not
// a form, unless the caller says it is).
Slist header_list(const std::vector<http::Header>& headers) {
  Slist list;
  bool has_content_type = false;
  const auto add = [&list](const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) throw CurlError("curl: out of memory");
    (void)list.release();
    list.reset(grown);
  };
  for (const auto& h : headers) {
    has_content_type = has_content_type || iequals(h.name, "Content-Type");
    add(h.value.empty() ? h.name + ";" : h.name + ": " + h.value);  // "Name;" sends an empty value
  }
  add("Expect:");
  if (!has_content_type) add("Content-Type:");
  return list;
}

}  // namespace

CurlResponse CurlClient::request(std::string_view method, const std::string& url, std::string_view body,
                                 const std::vector<http::Header>& headers) {
  CURL* easy = handles_->easy;
  const std::string method_text(method);
  const Slist list = header_list(headers);
  const std::string no_proxy = no_proxy_list();
  Transfer t;
  t.easy = easy;
  handles_->error[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, nullptr);
  if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && body.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (method == "POST" || !body.empty()) {
    // POSTFIELDS does not copy: `body` outlives the transfer, which ends in this call.
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data() != nullptr ? body.data() : "");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method_text.c_str());  // DELETE and others, no body
  }

  StreamEnd end{};
  const CURLcode result = handles_->run(t, std::nullopt, -1, end);
  long new_connections = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections);
  connections_ += static_cast<std::uint64_t>(std::max(0L, new_connections));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);  // `list` goes now
  if (result != CURLE_OK) {
    if (t.too_big) throw CurlError(fmt::format("response body over {} bytes", kMaxBodyBytes));
    throw CurlError(handles_->error[0] != '\0' ? handles_->error : curl_easy_strerror(result));
  }
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  t.response.status = static_cast<int>(code);
  return std::move(t.response);
}

StreamResult CurlClient::stream(const std::string& url, const std::vector<http::Header>& headers,
                                std::chrono::milliseconds idle_timeout, int cancel_fd,
                                const std::function<void(std::string_view)>& on_data) {
  CURL* easy = handles_->easy;
  const Slist list = header_list(headers);
  const std::string no_proxy = no_proxy_list();
  Transfer t;
  t.easy = easy;
  t.streaming = true;
  t.on_data = &on_data;
  handles_->error[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 0L);  // held for as long as it lasts
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);

  StreamResult out;
  CURLcode result = CURLE_OK;
  in_transfer_ = true;
  try {
    result = handles_->run(t, idle_timeout, cancel_fd, out.end);
  } catch (const CurlError& e) {
    out.error = e.what();
  }
  in_transfer_ = false;
  long new_connections = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections);
  connections_ += static_cast<std::uint64_t>(std::max(0L, new_connections));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  if (t.failure) std::rethrow_exception(t.failure);
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  out.status = static_cast<int>(code);
  if (result != CURLE_OK) out.error = handles_->error[0] != '\0' ? handles_->error : curl_easy_strerror(result);
  out.body = std::move(t.response.body);
  return out;
}

std::optional<std::string> http_url(std::string_view base, std::string_view path_suffix, std::string_view query) {
  global_init();
  const std::unique_ptr<CURLU, UrlFree> url(curl_url());
  if (!url) return std::nullopt;
  const std::string text(base);
  // No flags: the scheme must be written out, and nothing is guessed.
  if (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return std::nullopt;
  const auto part = [&url](CURLUPart which) -> std::optional<std::string> {
    char* value = nullptr;
    if (curl_url_get(url.get(), which, &value, 0) != CURLUE_OK || value == nullptr) return std::nullopt;
    const std::unique_ptr<char, CurlFree> owned(value);
    return std::string(value);
  };
  const auto scheme = part(CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https")) return std::nullopt;
  const auto host = part(CURLUPART_HOST);
  if (!host || host->empty()) return std::nullopt;
  if (!path_suffix.empty()) {
    std::string path = part(CURLUPART_PATH).value_or("/");
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += path_suffix;
    if (curl_url_set(url.get(), CURLUPART_PATH, path.c_str(), 0) != CURLUE_OK) return std::nullopt;
  }
  if (!query.empty()) {
    const std::string q(query);
    if (curl_url_set(url.get(), CURLUPART_QUERY, q.c_str(), CURLU_APPENDQUERY) != CURLUE_OK) return std::nullopt;
  }
  return part(CURLUPART_URL);
}

}  // namespace pulse::app
