// AccessLog: a writer thread drains batches of CLF lines to stdout or a file.
#include "pulse/app/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>

#include <fmt/format.h>

#include "pulse/base/system_error.hpp"
#include "pulse/http/bearer_auth.hpp"

namespace pulse::app {

std::unique_ptr<AccessLog> AccessLog::open(const std::string& spec) {
  if (spec == "off") return nullptr;
  if (spec == "stdout") {
    base::UniqueFd fd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0));
    if (!fd) base::throw_last_error("dup(stdout)");
    return std::make_unique<AccessLog>(std::move(fd));
  }
  base::UniqueFd fd(::open(spec.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) base::throw_last_error(fmt::format("open access log '{}'", spec));
  return std::make_unique<AccessLog>(std::move(fd));
}

AccessLog::AccessLog(base::UniqueFd fd) : fd_(std::move(fd)), writer_([this] { run(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void AccessLog::submit(std::string batch) {
  if (batch.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (backlog_bytes_ + batch.size() > kMaxBacklogBytes) {
      ++dropped_;
      return;
    }
    backlog_bytes_ += batch.size();
    queue_.push_back(std::move(batch));
  }
  wake_.notify_one();
}

std::uint64_t AccessLog::dropped_batches() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void AccessLog::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::string batch = std::move(queue_.front());
    queue_.pop_front();
    backlog_bytes_ -= batch.size();
    lock.unlock();
    std::size_t done = 0;
    while (done < batch.size()) {
      const ssize_t n = ::write(fd_.get(), batch.data() + done, batch.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the log is unwritable (disk full, closed pipe): drop this batch
      done += static_cast<std::size_t>(n);
    }
    lock.lock();
  }
}

void append_clf_line(const http::AccessRecord& record, std::string& out) {
  std::tm tm{};
  ::gmtime_r(&record.when, &tm);
  std::array<char, 32> when{};
  const auto n = std::strftime(when.data(), when.size(), "%d/%b/%Y:%H:%M:%S +0000", &tm);
  // A ?token= (the event stream's, say) is a secret: a log must never hold it.
  const std::optional<std::string> redacted = http::redact_token_parameter(record.target);
  const std::string_view shown = redacted ? std::string_view(*redacted) : record.target;
  // The target is the client's bytes: escape quotes and controls so a line stays one line.
  std::string target;
  target.reserve(shown.size());
  for (const char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      fmt::format_to(std::back_inserter(target), "\\x{:02x}", u);
    } else {
      target.push_back(c);
    }
  }
  fmt::format_to(std::back_inserter(out), "{} - - [{}] \"{} {} HTTP/1.{}\" {} {}\n", record.remote_addr,
                 std::string_view(when.data(), n), record.method, target, record.version_minor, record.status,
                 record.body_bytes);
}

}  // namespace pulse::app
