// What static-files tests add to a TempDir: directories, symlinks and FIFOs, by relative path.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"

namespace pulse::test {

inline std::filesystem::path make_dir(const TempDir& dir, const std::string& relative) {
  const auto full = dir.path() / relative;
  std::filesystem::create_directories(full);
  return full;
}

// Creates the symlink `relative` with `target` stored verbatim (relative targets stay relative).
inline void make_symlink(const TempDir& dir, const std::string& target, const std::string& relative) {
  const auto link = dir.path() / relative;
  std::filesystem::create_directories(link.parent_path());
  if (::symlink(target.c_str(), link.c_str()) != 0) throw std::runtime_error("symlink " + link.string());
}

inline void make_fifo(const TempDir& dir, const std::string& relative) {
  const auto fifo = dir.path() / relative;
  if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + fifo.string());
}

}  // namespace pulse::test
