// OutputQueue: coalescing, gathering for writev, sendfile of file ranges, back-pressure.
#include "pulse/http/output_queue.hpp"

#include <algorithm>
#include <array>

namespace pulse::http {

net::IoResult SocketWriter::writev(std::span<const iovec> buffers, bool more) {
  return net::writev_some(fd_, buffers, more);
}

net::IoResult SocketWriter::sendfile(int file_fd, std::uint64_t& offset, std::size_t count) {
  return net::sendfile_some(fd_, file_fd, offset, count);
}

std::string_view to_string(WriteOutcome outcome) noexcept {
  switch (outcome) {
    case WriteOutcome::kDrained: return "drained";
    case WriteOutcome::kWouldBlock: return "would block";
    case WriteOutcome::kFailed: return "failed";
    case WriteOutcome::kFileTruncated: return "file truncated";
    case WriteOutcome::kYielded: return "yielded";
  }
  return "?";
}

std::string& OutputQueue::tail(std::size_t expected_bytes) {
  const bool fresh_run_needed = chunks_.empty() || chunks_.back().file || chunks_.back().shared ||
                                chunks_.back().bytes.size() + expected_bytes > kCoalesceLimitBytes;
  if (fresh_run_needed) chunks_.push_back({});
  return chunks_.back().bytes;
}

void OutputQueue::append(std::string_view bytes) {
  if (bytes.empty()) return;
  tail(bytes.size()).append(bytes);
  bytes_ += bytes.size();
}

void OutputQueue::append_file(FileBody file) {
  if (file.length > 0) chunks_.push_back({.file = std::move(file)});
}

void OutputQueue::append_shared(SharedBody body) {
  if (body.length == 0) return;
  bytes_ += body.length;
  shared_bytes_ += body.length;
  chunks_.push_back({.shared = std::move(body)});
}

void OutputQueue::clear() noexcept {
  chunks_.clear();
  front_offset_ = 0;
  bytes_ = 0;
  shared_bytes_ = 0;
}

WriteResult OutputQueue::write_to(OutputWriter& writer) {
  WriteResult result;
  std::size_t file_bytes = 0;
  while (!chunks_.empty()) {
    if (auto& file = chunks_.front().file) {
      if (file_bytes >= kFileBytesPerWrite) {
        result.outcome = WriteOutcome::kYielded;
        return result;
      }
      const std::size_t count = std::min(file->length, kFileBytesPerWrite - file_bytes);
      const auto io = writer.sendfile(file->fd->get(), file->offset, count);
      if (io.would_block) {
        result.outcome = WriteOutcome::kWouldBlock;
        return result;
      }
      if (!io.ok() || io.bytes == 0) {
        result.outcome = io.ok() ? WriteOutcome::kFileTruncated : WriteOutcome::kFailed;
        result.error = io.error;
        return result;
      }
      result.bytes += io.bytes;
      file_bytes += io.bytes;
      file->length -= io.bytes;
      if (file->length == 0) chunks_.pop_front();
      continue;
    }
    // Gather consecutive byte runs into one writev.
    std::array<iovec, kMaxIovecs> iov{};
    std::size_t count = 0;
    for (auto it = chunks_.begin(); it != chunks_.end() && !it->file && count < kMaxIovecs; ++it, ++count) {
      const std::string_view memory = it->memory().substr(count == 0 ? front_offset_ : 0);
      iov[count].iov_base = const_cast<char*>(memory.data());  // sendmsg does not write to it
      iov[count].iov_len = memory.size();
    }
    // A file body right behind these bytes: let headers and body share packets.
    const bool file_follows = count < chunks_.size() && chunks_[count].file.has_value();
    const auto io = writer.writev(std::span<const iovec>(iov.data(), count), file_follows);
    if (io.would_block) {
      result.outcome = WriteOutcome::kWouldBlock;
      return result;
    }
    if (!io.ok()) {
      result.outcome = WriteOutcome::kFailed;
      result.error = io.error;
      return result;
    }
    result.bytes += io.bytes;
    drop_written(io.bytes);
  }
  result.outcome = WriteOutcome::kDrained;
  return result;
}

void OutputQueue::drop_written(std::size_t written) noexcept {
  bytes_ -= written;
  while (written > 0) {
    const Chunk& front = chunks_.front();
    const std::size_t left = front.memory().size() - front_offset_;
    if (written < left) {
      front_offset_ += written;
      if (front.shared) shared_bytes_ -= written;
      return;
    }
    written -= left;
    if (front.shared) shared_bytes_ -= left;
    front_offset_ = 0;
    chunks_.pop_front();
  }
}

}  // namespace pulse::http
