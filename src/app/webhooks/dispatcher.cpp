// WebhookDispatcher: one thread drives a libcurl multi handle; each URL is a target with its own
// queue and one easy handle (its connection is reused between alerts), idle or sending.
#include "pulse/app/webhooks/dispatcher.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <array>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "pulse/app/webhooks/alert.hpp"
#include "pulse/app/webhooks/retry.hpp"
#include "pulse/base/log.hpp"
#include "pulse/base/monotonic_clock.hpp"

namespace pulse::app::webhooks {
namespace {

using base::MonotonicClock;
using std::chrono::milliseconds;

constexpr base::LogContext kDelivering{.action = "delivering a webhook alert"};
constexpr base::LogContext kStopping{.action = "stopping the webhook dispatcher"};
// The longest the thread sleeps between looks at its clock; on_event() wakes it sooner.
constexpr milliseconds kMaxPoll{1000};
constexpr std::string_view kUserAgent = "pulsehttpd/" PULSE_VERSION;

// curl_global_init is not thread-safe against other libcurl use; once per process, before any
// handle. curl_global_cleanup is never called: other parts (the beat client) may use libcurl.
void init_curl_once() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) throw std::runtime_error(fmt::format("libcurl: {}", curl_easy_strerror(result)));
}

std::size_t discard_body(char* /*data*/, std::size_t size, std::size_t count, void* /*user*/) {
  return size * count;
}

// Errors a later try cannot fix: the URL itself is wrong.
bool is_permanent(CURLcode code) noexcept {
  return code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL;
}

struct EasyDeleter {
  void operator()(CURL* easy) const noexcept { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const noexcept { curl_multi_cleanup(multi); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

// One alert on its way to one URL.
struct Delivery {
  std::shared_ptr<const Alert> alert;
  unsigned retries = 0;                    // attempts that failed so far
  MonotonicClock::time_point first_try{};  // set by the first attempt
  MonotonicClock::time_point due{};        // the next attempt may start from here
};

// kIdle: nothing under way (the head, if any, starts once due). kSending: the head's request is
// in the multi handle. Failed attempts go back to kIdle with a later `due`.
enum class TargetState : std::uint8_t { kIdle, kSending };

struct Target {
  std::string url;
  std::string label;  // "#2 https://host:port", for logs: the path may hold a secret
  Easy easy;
  HeaderList headers;  // the head's, while it is being sent
  std::array<char, CURL_ERROR_SIZE> error{};
  TargetState state = TargetState::kIdle;
  std::deque<Delivery> queue;  // guarded by Impl::mutex; the head is the one being delivered
  bool retrying = false;       // an outage was reported in the log, its end will be too
};

}  // namespace

struct WebhookDispatcher::Impl {
  Impl(WebhookOptions options_in, Now now_in, Random random_in);

  void run();
  void start_due(MonotonicClock::time_point now);
  void start_attempt(Target& target, MonotonicClock::time_point now);
  void finish_attempt(CURL* easy, CURLcode code, MonotonicClock::time_point now);
  [[nodiscard]] milliseconds poll_timeout(MonotonicClock::time_point now) const;
  [[nodiscard]] bool anything_due_or_sending(MonotonicClock::time_point now) const;

  const WebhookOptions options;
  const RetryPolicy policy;
  const Now now;
  Random random;  // the dispatcher thread only
  std::unique_ptr<CURLM, MultiDeleter> multi;
  std::vector<std::unique_ptr<Target>> targets;

  mutable std::mutex mutex;  // the targets' queues and `stopping`
  bool stopping = false;
  MonotonicClock::time_point stop_deadline{};
  std::thread thread;

  // Whether `event` is alerted, and what that does to the ids whose last alert was bad. Any thread.
  [[nodiscard]] bool decide(const presence::PresenceEvent& event);

  // Ids whose last alert of down, failing or up was a down or a failing: their next move to up
  // is a recovery to alert, whatever states came between. Only while "up" is a trigger; at most
  // options.max_alerted_ids, and an id is forgotten at its "up", its leave, or a move from up
  // (the recovery was made, and alerted, by another replica).
  mutable std::mutex alerted_mutex;
  std::unordered_set<std::string> alerted_bad;  // guarded by alerted_mutex

  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> queued{0};
};

WebhookDispatcher::Impl::Impl(WebhookOptions options_in, Now now_in, Random random_in)
    : options(std::move(options_in)),
      policy{.base = options.retry_base,
             .max = options.retry_max,
             .give_up = options.give_up,
             .max_retry_after = kMaxRetryAfter},
      now(std::move(now_in)),
      random(std::move(random_in)) {
  init_curl_once();
  if (!random) {
    random = [engine = std::mt19937_64(std::random_device{}())]() mutable { return engine(); };
  }
  multi.reset(curl_multi_init());
  if (!multi) throw std::runtime_error("libcurl: curl_multi_init failed");
  for (const auto& url : options.urls) {
    auto target = std::make_unique<Target>();
    target->url = url;
    // Numbered as on the command line: two URLs on one host differ only in their (secret) paths.
    target->label = fmt::format("#{} {}", targets.size() + 1, url_label(url));
    target->easy.reset(curl_easy_init());
    if (!target->easy) throw std::runtime_error("libcurl: curl_easy_init failed");
    CURL* easy = target->easy.get();
    // The options every attempt shares; the body and the headers are set per alert.
    curl_easy_setopt(easy, CURLOPT_URL, target->url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(options.request_timeout, kMaxConnectTimeout).count()));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent.data());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, target->error.data());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, target.get());
    if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
    targets.push_back(std::move(target));
  }
}

bool WebhookDispatcher::Impl::decide(const presence::PresenceEvent& event) {
  const bool tracking = options.triggers.test(index_of(Trigger::kUp));
  if (!tracking) return wanted(event, options.triggers);
  using presence::EventKind;
  std::lock_guard lock(alerted_mutex);
  const auto found = alerted_bad.find(event.client.id);
  bool was_bad = found != alerted_bad.end();
  // A new id, a leave, or a move away from up: whatever was alerted before is over.
  const bool fresh = event.kind != EventKind::kChange || event.previous == presence::ClientState::kUp;
  if (was_bad && fresh) {
    alerted_bad.erase(found);
    was_bad = false;
  }
  const bool alert = wanted(event, options.triggers, was_bad);
  if (!alert) return false;
  if (is_bad_alert(event)) {
    if (!was_bad && alerted_bad.size() < options.max_alerted_ids) alerted_bad.insert(event.client.id);
  } else if (was_bad && event.client.state == presence::ClientState::kUp) {
    alerted_bad.erase(event.client.id);
  }
  return true;
}

void WebhookDispatcher::Impl::run() {
  while (true) {
    const auto at = MonotonicClock::now();
    {
      std::lock_guard lock(mutex);
      if (stopping && (at >= stop_deadline || !anything_due_or_sending(at))) break;
      start_due(at);
    }
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi.get(), easy);
      finish_attempt(easy, code, MonotonicClock::now());
    }
    milliseconds timeout;
    {
      std::lock_guard lock(mutex);
      timeout = poll_timeout(MonotonicClock::now());
    }
    curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(timeout.count()), nullptr);
  }
  // Anything still under way is abandoned: stop waiting.
  for (auto& target : targets) {
    if (target->state == TargetState::kSending) curl_multi_remove_handle(multi.get(), target->easy.get());
  }
}

// With the mutex held.
bool WebhookDispatcher::Impl::anything_due_or_sending(MonotonicClock::time_point at) const {
  for (const auto& target : targets) {
    if (target->state == TargetState::kSending) return true;
    if (!target->queue.empty() && target->queue.front().due <= at) return true;
  }
  return false;
}

// With the mutex held.
void WebhookDispatcher::Impl::start_due(MonotonicClock::time_point at) {
  for (auto& target : targets) {
    if (target->state != TargetState::kIdle || target->queue.empty()) continue;
    if (target->queue.front().due > at) continue;
    start_attempt(*target, at);
  }
}

// With the mutex held: the head stays in the queue, so its body outlives the request.
void WebhookDispatcher::Impl::start_attempt(Target& target, MonotonicClock::time_point at) {
  Delivery& head = target.queue.front();
  if (head.retries == 0) head.first_try = at;
  // No "Expect: 100-continue" round trip for a small body.
  const std::array<std::string, 3> lines{"Content-Type: application/json",
                                         fmt::format("Idempotency-Key: {}", head.alert->key), "Expect:"};
  target.headers.reset();
  for (const auto& line : lines) {
    // On failure curl_slist_append returns null and leaves the list as it was (still owned).
    curl_slist* longer = curl_slist_append(target.headers.get(), line.c_str());
    if (longer == nullptr) {
      target.headers.reset();
      head.due = at + options.retry_base;  // out of memory: nothing sent, try again later
      return;
    }
    (void)target.headers.release();
    target.headers.reset(longer);
  }
  CURL* easy = target.easy.get();
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, target.headers.get());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, head.alert->body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(head.alert->body.size()));
  target.error[0] = '\0';
  if (curl_multi_add_handle(multi.get(), easy) != CURLM_OK) {
    // Treated as a failed attempt on the next pass: nothing was sent.
    head.due = at + options.retry_base;
    return;
  }
  target.state = TargetState::kSending;
}

void WebhookDispatcher::Impl::finish_attempt(CURL* easy, CURLcode code, MonotonicClock::time_point at) {
  void* user = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &user);
  auto& target = *static_cast<Target*>(user);
  long status = 0;
  if (code == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t retry_after_seconds = 0;
  if (code == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after_seconds);

  Verdict verdict = code == CURLE_OK ? verdict_of(status) : (is_permanent(code) ? Verdict::kFailed : Verdict::kRetry);
  const std::string why = code == CURLE_OK
                              ? fmt::format("HTTP {}", status)
                              : std::string(target.error[0] != '\0' ? target.error.data() : curl_easy_strerror(code));

  // Logged after the lock is released: on_event() on a worker thread never waits for stderr.
  std::optional<std::pair<base::LogLevel, std::string>> report;
  {
    std::lock_guard lock(mutex);
    target.state = TargetState::kIdle;
    target.headers.reset();
    Delivery& head = target.queue.front();
    if (verdict == Verdict::kRetry) {
      std::optional<milliseconds> retry_after;
      if (retry_after_seconds > 0) retry_after = std::chrono::seconds(retry_after_seconds);
      if (const auto next = next_attempt(policy, head.first_try, at, head.retries, retry_after, random())) {
        ++head.retries;
        head.due = *next;
        retried.fetch_add(1, std::memory_order_relaxed);
        // Once per outage, not once per attempt: the metrics count attempts.
        if (!target.retrying) {
          report.emplace(base::LogLevel::kWarning,
                         fmt::format("webhook {}: alert for {} not delivered ({}); retrying with back-off",
                                     target.label, head.alert->id, why));
          target.retrying = true;
        }
      } else {
        report.emplace(base::LogLevel::kError,
                       fmt::format("webhook {}: gave up on the alert for {} (key {}) after {} tries: {}", target.label,
                                   head.alert->id, head.alert->key, head.retries + 1, why));
        verdict = Verdict::kFailed;
      }
    } else if (verdict == Verdict::kFailed) {
      report.emplace(base::LogLevel::kError,
                     fmt::format("webhook {}: the receiver refused the alert for {} (key {}): {}; not retried",
                                 target.label, head.alert->id, head.alert->key, why));
    }
    if (verdict == Verdict::kSent) {
      sent.fetch_add(1, std::memory_order_relaxed);
      if (target.retrying) {
        report.emplace(base::LogLevel::kInfo,
                       fmt::format("webhook {}: delivered again, after {} retries", target.label, head.retries));
      }
      target.retrying = false;
    }
    if (verdict == Verdict::kFailed) failed.fetch_add(1, std::memory_order_relaxed);
    if (verdict != Verdict::kRetry) {
      target.queue.pop_front();
      queued.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (report) base::logger().write(report->first, kDelivering, report->second);
}

// With the mutex held: until the next due attempt, or a while (on_event() wakes the poll).
milliseconds WebhookDispatcher::Impl::poll_timeout(MonotonicClock::time_point at) const {
  auto until = at + kMaxPoll;
  for (const auto& target : targets) {
    if (target->state == TargetState::kIdle && !target->queue.empty())
      until = std::min(until, target->queue.front().due);
  }
  if (stopping) until = std::min(until, stop_deadline);
  if (until <= at) return milliseconds(0);
  // Rounded up: waking a little late is fine, spinning on a 0 ms poll is not.
  return std::chrono::ceil<milliseconds>(until - at);
}

WebhookDispatcher::WebhookDispatcher(WebhookOptions options, Now now, Random random)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(now), std::move(random))) {}

WebhookDispatcher::~WebhookDispatcher() {
  stop();
}

void WebhookDispatcher::start() {
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void WebhookDispatcher::begin_stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->stop_deadline = MonotonicClock::now() + impl_->options.shutdown_grace;
  }
  curl_multi_wakeup(impl_->multi.get());
}

void WebhookDispatcher::stop() {
  begin_stop();
  if (!impl_->thread.joinable()) return;
  impl_->thread.join();
  std::size_t undelivered = 0;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& target : impl_->targets) undelivered += target->queue.size();
  }
  if (undelivered > 0) {
    base::log_warning(kStopping, "{} webhook alert deliveries were not done (still queued or being retried)",
                      undelivered);
  } else {
    base::log_info(kStopping, "every webhook alert was delivered");
  }
}

void WebhookDispatcher::on_event(const presence::PresenceEvent& event) {
  if (!impl_->decide(event)) return;
  // Rendered once for every URL, outside the lock.
  auto alert = std::make_shared<const Alert>(make_alert(event, impl_->options.server_name, impl_->now()));
  bool queued_any = false;
  std::vector<std::string_view> full;  // labels of the targets whose queue is full
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    for (auto& target : impl_->targets) {
      if (target->queue.size() >= impl_->options.queue_capacity) {
        impl_->dropped.fetch_add(1, std::memory_order_relaxed);
        full.push_back(target->label);
        continue;
      }
      target->queue.push_back(Delivery{.alert = alert, .due = MonotonicClock::now()});
      impl_->queued.fetch_add(1, std::memory_order_relaxed);
      queued_any = true;
    }
  }
  if (queued_any) curl_multi_wakeup(impl_->multi.get());
  // The logger's rate limit keeps a long outage from filling the log with these.
  for (const auto label : full) {
    base::log_warning(kDelivering, "webhook {}: queue full ({} alerts); the alert for {} is dropped", label,
                      impl_->options.queue_capacity, alert->id);
  }
}

bool WebhookDispatcher::wants_sign_offs() const noexcept {
  // With "up", a sign-off is also how an id alerted down is forgotten.
  const auto& triggers = impl_->options.triggers;
  return triggers.test(index_of(Trigger::kLeave)) || triggers.test(index_of(Trigger::kUp));
}

std::size_t WebhookDispatcher::remembered_ids() const {
  std::lock_guard lock(impl_->alerted_mutex);
  return impl_->alerted_bad.size();
}

WebhookStats WebhookDispatcher::stats() const noexcept {
  return {
      .sent = impl_->sent.load(std::memory_order_relaxed),
      .retried = impl_->retried.load(std::memory_order_relaxed),
      .failed = impl_->failed.load(std::memory_order_relaxed),
      .dropped = impl_->dropped.load(std::memory_order_relaxed),
      .queued = impl_->queued.load(std::memory_order_relaxed),
  };
}

const WebhookOptions& WebhookDispatcher::options() const noexcept {
  return impl_->options;
}

std::string render_webhook_metrics(const WebhookStats& stats) {
  std::string text;
  auto out = std::back_inserter(text);
  fmt::format_to(out,
                 "# HELP pulse_webhook_alerts_total Webhook alert deliveries (one alert to one URL), by result: "
                 "sent, retried (an attempt failed and was scheduled again), failed (refused or given up), "
                 "dropped (the queue was full).\n"
                 "# TYPE pulse_webhook_alerts_total counter\n");
  fmt::format_to(out, "pulse_webhook_alerts_total{{result=\"sent\"}} {}\n", stats.sent);
  fmt::format_to(out, "pulse_webhook_alerts_total{{result=\"retried\"}} {}\n", stats.retried);
  fmt::format_to(out, "pulse_webhook_alerts_total{{result=\"failed\"}} {}\n", stats.failed);
  fmt::format_to(out, "pulse_webhook_alerts_total{{result=\"dropped\"}} {}\n", stats.dropped);
  fmt::format_to(out,
                 "# HELP pulse_webhook_queue_depth Webhook alert deliveries waiting or under way.\n"
                 "# TYPE pulse_webhook_queue_depth gauge\n"
                 "pulse_webhook_queue_depth {}\n",
                 stats.queued);
  return text;
}

}  // namespace pulse::app::webhooks
