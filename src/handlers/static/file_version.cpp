// FileVersion: describing an opened file once (ETag, Last-Modified) and, for small settled files,
// copying its bytes so that later responses need no file access at all.
#include "pulse/handlers/static/file_version.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "pulse/http/http_date.hpp"

namespace pulse::handlers::static_files {
namespace {

// pread() calls for one file before giving up on copying it (a regular file normally needs one).
constexpr int kMaxReadCalls = 16;

std::chrono::system_clock::time_point time_of(const struct timespec& time) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec)));
}

bool same_time(const struct timespec& a, const struct timespec& b) noexcept {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

struct DescribedValidators {
  http::Validators validators;
  bool modified_in_future = false;
};

DescribedValidators validators_of(const struct stat& status) {
  const std::int64_t mtime_ns =
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec;
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto modified = std::chrono::sys_seconds(std::chrono::seconds(status.st_mtim.tv_sec));
  return {
      {http::make_etag(static_cast<std::uint64_t>(status.st_ino), static_cast<std::uint64_t>(status.st_size), mtime_ns),
       std::min(modified, now)},
      modified > now};
}

}  // namespace

std::shared_ptr<const FileVersion> describe_file(std::shared_ptr<const base::UniqueFd> fd, const struct stat& status) {
  auto version = std::make_shared<FileVersion>();
  version->status = status;
  auto [validators, in_future] = validators_of(status);
  version->last_modified_text = http::format_http_date(validators.last_modified.time_since_epoch().count());
  version->validators = std::move(validators);
  version->modified_in_future = in_future;
  if (!in_future) {
    version->validator_lines =
        "ETag: " + version->validators.etag + "\r\nLast-Modified: " + version->last_modified_text + "\r\n";
  }
  version->fd = std::move(fd);
  return version;
}

std::shared_ptr<const FileVersion> load_into_memory(const FileVersion& version) {
  if (!version.fd || !*version.fd) return nullptr;
  const int fd = version.fd->get();
  const std::size_t size = version.size();
  std::string bytes(size, '\0');
  std::size_t done = 0;
  for (int call = 0; done < size && call < kMaxReadCalls; ++call) {
    const ssize_t n = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;  // an error, or the file shrank under us
    done += static_cast<std::size_t>(n);
  }
  if (done < size) return nullptr;
  // A write during the read would have moved ctime: then the bytes may be a mix of two versions.
  struct stat after {};
  if (::fstat(fd, &after) != 0 || !same_version(after, version.status)) return nullptr;

  auto copy = std::make_shared<FileVersion>(version);
  copy->fd.reset();  // the bytes are what it serves now: no descriptor held
  copy->content = std::make_shared<const std::string>(std::move(bytes));
  return copy;
}

http::Validators current_validators(const FileVersion& version) {
  if (!version.modified_in_future) return version.validators;
  return validators_of(version.status).validators;
}

bool same_version(const struct stat& a, const struct stat& b) noexcept {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size && same_time(a.st_mtim, b.st_mtim) &&
         same_time(a.st_ctim, b.st_ctim);
}

bool settled(const struct stat& status, std::chrono::system_clock::time_point now,
             std::chrono::milliseconds settle_time) noexcept {
  const auto last_change = std::max(time_of(status.st_mtim), time_of(status.st_ctim));
  return now - last_change >= settle_time;
}

}  // namespace pulse::handlers::static_files
