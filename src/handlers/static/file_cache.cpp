// FileCache: two recency lists (files in memory, open files) under one index, so each kind is
// bounded on its own and the least recently used entry overall goes first when the cache is full.
#include "pulse/handlers/static/file_cache.hpp"

#include <atomic>
#include <cassert>
#include <iterator>
#include <utility>
#include <vector>

namespace pulse::handlers::static_files {
namespace {

std::atomic<std::uint64_t> next_owner_id{1};

struct ThreadCaches {
  struct Slot {
    std::uint64_t owner = 0;
    std::weak_ptr<const std::uint64_t> owner_alive;
    std::unique_ptr<FileCache> cache;  // on the heap: a reference survives the vector growing
  };
  std::vector<Slot> slots;  // one per owner this thread has served; rarely more than one
};

// Destroyed when its thread exits, closing what that thread's caches kept open.
thread_local ThreadCaches thread_caches;

}  // namespace

FileCache::FileCache(FileCacheLimits limits) : limits_(limits) {}

FileCache::~FileCache() = default;

FileCache::Entry* FileCache::find(std::string_view path) {
  const auto found = index_.find(path);
  if (found == index_.end()) return nullptr;
  const List::iterator node = found->second;
  List& list = list_of(*node);
  list.splice(list.begin(), list, node);
  node->last_used = ++use_counter_;
  return &node->entry;
}

FileCache::Entry* FileCache::put(std::string_view path, Entry entry) {
  assert(entry.version != nullptr);
  erase(path);
  const bool in_memory = entry.version->in_memory();
  const std::size_t bytes = in_memory ? entry.version->content->size() : 0;
  // Checked up front so that the eviction below never has to take the newest entry.
  if (limits_.max_entries == 0 || (in_memory ? bytes > limits_.max_content_bytes : limits_.max_open_files == 0)) {
    return nullptr;
  }
  List& list = in_memory ? in_memory_ : open_;
  list.push_front(Node{std::string(path), std::move(entry), ++use_counter_});
  index_.emplace(list.front().path, list.begin());
  content_bytes_ += bytes;
  evict_to_limits();
  return &list.front().entry;
}

void FileCache::erase(std::string_view path) {
  const auto found = index_.find(path);
  if (found != index_.end()) erase_node(found->second);
}

void FileCache::release_open_files() {
  while (!open_.empty()) erase_node(std::prev(open_.end()));
}

void FileCache::erase_node(List::iterator node) {
  if (node->entry.version->in_memory()) content_bytes_ -= node->entry.version->content->size();
  index_.erase(node->path);  // before the node (and the string the key views) goes
  list_of(*node).erase(node);
}

void FileCache::evict_to_limits() {
  while (index_.size() > limits_.max_entries) {
    const bool take_open =
        in_memory_.empty() || (!open_.empty() && open_.back().last_used < in_memory_.back().last_used);
    erase_node(std::prev(take_open ? open_.end() : in_memory_.end()));
  }
  while (open_.size() > limits_.max_open_files) erase_node(std::prev(open_.end()));
  while (content_bytes_ > limits_.max_content_bytes) erase_node(std::prev(in_memory_.end()));
}

ThreadLocalFileCache::ThreadLocalFileCache(FileCacheLimits limits)
    : id_(next_owner_id.fetch_add(1, std::memory_order_relaxed)),
      limits_(limits),
      alive_(std::make_shared<const std::uint64_t>(id_)) {}

ThreadLocalFileCache::~ThreadLocalFileCache() = default;

FileCache& ThreadLocalFileCache::local() const {
  auto& slots = thread_caches.slots;
  // Owners destroyed since this thread last looked: free their caches (and close their files)
  // now rather than when the thread exits.
  std::erase_if(slots, [](const ThreadCaches::Slot& slot) { return slot.owner_alive.expired(); });
  for (auto& slot : slots) {
    if (slot.owner == id_) return *slot.cache;
  }
  slots.push_back({id_, alive_, std::make_unique<FileCache>(limits_)});
  return *slots.back().cache;
}

}  // namespace pulse::handlers::static_files
