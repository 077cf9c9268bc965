// OutputQueue: a connection's responses waiting to be written, in request order. Small byte
// runs are coalesced so a pipeline leaves in one writev; file ranges go out with sendfile. It
// also keeps the back-pressure hysteresis. Owned by one connection, on its loop thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "pulse/http/limits.hpp"
#include "pulse/http/response.hpp"
#include "pulse/net/io.hpp"

namespace pulse::http {

// The socket seam: tests give the queue a scripted writer, the connection a SocketWriter. Used
// on the thread of the queue that writes through it.
class OutputWriter {
 public:
  virtual ~OutputWriter() = default;
  // `more`: a file body follows these bytes at once (MSG_MORE).
  [[nodiscard]] virtual net::IoResult writev(std::span<const iovec> buffers, bool more) = 0;
  // Advances `offset` by what was sent; bytes == 0 without would_block: the file ended early.
  [[nodiscard]] virtual net::IoResult sendfile(int file_fd, std::uint64_t& offset, std::size_t count) = 0;
};

// Writes to a non-blocking socket through net::writev_some / net::sendfile_some.
class SocketWriter final : public OutputWriter {
 public:
  explicit SocketWriter(int fd) noexcept : fd_(fd) {}
  [[nodiscard]] net::IoResult writev(std::span<const iovec> buffers, bool more) override;
  [[nodiscard]] net::IoResult sendfile(int file_fd, std::uint64_t& offset, std::size_t count) override;

 private:
  int fd_;
};

enum class WriteOutcome {
  kDrained,        // everything queued is written
  kWouldBlock,     // the socket is full: wait for EPOLLOUT
  kFailed,         // the peer is gone (EPIPE, ECONNRESET, ...): `error` says which
  kFileTruncated,  // a file shrank while being sent: its promised length can no longer be met
  kYielded,        // this call's share of file bytes is sent and more is queued: the socket may
                   // take more, so write again after the loop has served the others
};

[[nodiscard]] std::string_view to_string(WriteOutcome outcome) noexcept;

struct WriteResult {
  WriteOutcome outcome = WriteOutcome::kDrained;
  std::size_t bytes = 0;  // written by this call, including before a failure
  std::error_code error;
};

class OutputQueue {
 public:
  // A byte run takes appends while it stays within this, so a pipeline of small responses
  // leaves in one writev; a larger append starts a run of its own.
  static constexpr std::size_t kCoalesceLimitBytes = 64 * 1024;
  // Byte runs gathered into one writev.
  static constexpr std::size_t kMaxIovecs = 64;
  // File bytes one write_to() call sends (one sendfile each) before it yields. A call that
  // instead kept going until the socket refused would queue the send buffer full (megabytes on
  // an autotuned socket): measured on loopback with 10 MiB files, that halves throughput and
  // costs about twice the CPU per byte, much of it in ksoftirqd, against sending in
  // quarter-megabyte steps and letting other connections go in between.
  static constexpr std::size_t kFileBytesPerWrite = 256 * 1024;

  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // Lets `fill(std::string&)` append about `expected_bytes` straight into the tail of the queue
  // (no intermediate string per response); returns how many bytes it appended.
  template <typename Fill>
  std::size_t append_with(std::size_t expected_bytes, Fill&& fill);
  void append(std::string_view bytes);
  // A file range sent after everything queued before it; an empty range is dropped.
  void append_file(FileBody file);
  // A range of a buffer shared with others (a rendered list or event-stream snapshot that many
  // connections send): referenced, not copied, so a slow reader pins no copy of its own.
  void append_shared(SharedBody body);

  // Writes until drained, would-block, failure, or kFileBytesPerWrite file bytes are sent.
  [[nodiscard]] WriteResult write_to(OutputWriter& writer);
  void clear() noexcept;

  [[nodiscard]] bool empty() const noexcept { return chunks_.empty(); }
  // In-memory bytes not yet written, shared ones included (file ranges not counted).
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  // Of those, the bytes this queue owns: what a slow reader costs beyond buffers it shares.
  [[nodiscard]] std::size_t owned_bytes() const noexcept { return bytes_ - shared_bytes_; }
  // Byte runs and file ranges queued: each file range holds an open file.
  [[nodiscard]] std::size_t entries() const noexcept { return chunks_.size(); }

  // Back-pressure with hysteresis: pauses above kOutputHighWaterBytes or kMaxQueuedResponses,
  // resumes at half of both, so parsing does not flap at the mark. Returns whether paused.
  // Called only where the parser is about to run. The first parse of a wake-up runs before that
  // wake-up's write, so a queue over the mark may pause parsing for one round until the write
  // drains it; the pump then parses again at once. Inline: it runs before every request parsed.
  bool update_backpressure() noexcept {
    if (paused_) {
      if (bytes_ <= kOutputHighWaterBytes / 2 && chunks_.size() <= kMaxQueuedResponses / 2) paused_ = false;
    } else if (bytes_ > kOutputHighWaterBytes || chunks_.size() > kMaxQueuedResponses) {
      paused_ = true;
    }
    return paused_;
  }
  // The pause as last updated.
  [[nodiscard]] bool paused() const noexcept { return paused_; }

 private:
  // A run of bytes of its own, a range of a shared buffer, or a file range.
  struct Chunk {
    std::string bytes;
    std::optional<SharedBody> shared;
    std::optional<FileBody> file;

    [[nodiscard]] std::string_view memory() const noexcept {
      return shared ? std::string_view(*shared->data).substr(shared->offset, shared->length) : std::string_view(bytes);
    }
  };

  // The byte run new bytes may be appended to (a new one when the last is a file or full).
  std::string& tail(std::size_t expected_bytes);
  void drop_written(std::size_t written) noexcept;

  // A FIFO of chunks that holds no memory while empty (std::deque allocates on construction,
  // about 580 bytes per idle keep-alive connection): a vector consumed from the front, freed as
  // soon as everything in it is written.
  class Chunks {
   public:
    [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
    [[nodiscard]] Chunk& front() noexcept { return items_[head_]; }
    [[nodiscard]] Chunk& back() noexcept { return items_.back(); }
    [[nodiscard]] const Chunk& operator[](std::size_t i) const noexcept { return items_[head_ + i]; }
    [[nodiscard]] auto begin() const noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    [[nodiscard]] auto end() const noexcept { return items_.end(); }
    void push_back(Chunk chunk) { items_.push_back(std::move(chunk)); }
    void pop_back() noexcept {
      items_.pop_back();
      if (empty()) clear();
    }
    void pop_front() noexcept {
      items_[head_] = Chunk{};  // lets go of its bytes, shared buffer or file now
      if (++head_ == items_.size()) clear();
    }
    void clear() noexcept {
      std::vector<Chunk>().swap(items_);
      head_ = 0;
    }

   private:
    std::vector<Chunk> items_;
    std::size_t head_ = 0;  // items_ before it are written (and empty)
  };

  Chunks chunks_;                 // never holds an empty byte run
  std::size_t front_offset_ = 0;  // bytes of chunks_.front().bytes already written
  std::size_t bytes_ = 0;
  std::size_t shared_bytes_ = 0;
  bool paused_ = false;
};

template <typename Fill>
std::size_t OutputQueue::append_with(std::size_t expected_bytes, Fill&& fill) {
  std::string& run = tail(expected_bytes);
  const std::size_t before = run.size();
  fill(run);
  const std::size_t added = run.size() - before;
  if (run.empty()) chunks_.pop_back();  // a fresh run nothing was written into
  bytes_ += added;
  return added;
}

}  // namespace pulse::http
