// Docroot against a real tree with symlinks that stay inside and symlinks that leave: both
// resolvers give the same answers, and openat2 failing with ENOSYS switches to the walk.
#include "pulse/handlers/static/docroot.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "unit/handlers/static/file_tree.hpp"

using pulse::handlers::static_files::DirectoryListing;
using pulse::handlers::static_files::Docroot;
using pulse::test::make_dir;
using pulse::test::make_fifo;
using pulse::test::make_symlink;
using pulse::test::TempDir;

namespace {

// root/ and, beside it, outside/secret.txt that nothing may reach.
struct Fixture {
  TempDir tree;
  std::filesystem::path root;

  Fixture() : root(make_dir(tree, "root")) {
    tree.write("outside/secret.txt", "secret");
    tree.write("root/index.html", "<h1>hi</h1>");
    tree.write("root/sub/file.txt", "file");
    tree.write("root/sub/deeper/x.txt", "x");
    tree.write("root/.hidden", "dot");
    make_symlink(tree, "sub/file.txt", "root/link_in");
    make_symlink(tree, "sub", "root/link_dir");
    make_symlink(tree, "../index.html", "root/sub/link_parent");
    make_symlink(tree, "deeper/../file.txt", "root/sub/link_dotdot");
    make_symlink(tree, "../outside/secret.txt", "root/link_out");
    make_symlink(tree, (tree.path() / "outside/secret.txt").string(), "root/link_abs");
    make_symlink(tree, "../../outside/secret.txt", "root/sub/link_out2");
    make_symlink(tree, "..", "root/link_dir_out");
    make_symlink(tree, "/proc/self/root/etc/passwd", "root/link_proc");
    make_symlink(tree, "loop_b", "root/loop_a");
    make_symlink(tree, "loop_a", "root/loop_b");
    make_symlink(tree, "missing_target", "root/dangling");
    make_fifo(tree, "root/fifo");
  }
};

struct Expectation {
  std::string relative;
  int error;            // 0: opens
  std::string content;  // for regular files that open
};

const std::vector<Expectation> kTable{
    {"", 0, ""},
    {"index.html", 0, "<h1>hi</h1>"},
    {"sub/file.txt", 0, "file"},
    {"sub/deeper/x.txt", 0, "x"},
    {"link_in", 0, "file"},
    {"link_dir/file.txt", 0, "file"},
    {"link_dir/deeper/x.txt", 0, "x"},
    {"sub/link_parent", 0, "<h1>hi</h1>"},
    {"sub/link_dotdot", 0, "file"},
    {"sub/../index.html", 0, "<h1>hi</h1>"},
    {".hidden", 0, "dot"},  // hiding dotfiles is the handler's policy, not the docroot's
    {"link_out", EXDEV, ""},
    {"link_abs", EXDEV, ""},
    {"sub/link_out2", EXDEV, ""},
    {"link_dir_out", EXDEV, ""},
    {"link_dir_out/outside/secret.txt", EXDEV, ""},
    {"link_proc", EXDEV, ""},
    {"../outside/secret.txt", EXDEV, ""},
    {"sub/../../outside/secret.txt", EXDEV, ""},
    {"/etc/passwd", EXDEV, ""},
    {"loop_a", ELOOP, ""},
    {"dangling", ENOENT, ""},
    {"missing", ENOENT, ""},
    {"sub/missing/x", ENOENT, ""},
    {"index.html/x", ENOTDIR, ""},
    {std::string("index.html\0.png", 15), EINVAL, ""},
};

std::string read_all(int fd) {
  std::string content;
  char buffer[256];
  for (int i = 0; i < 100; ++i) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

void check_table(const Docroot& docroot) {
  for (const auto& e : kTable) {
    INFO("relative: '" << e.relative << "'");
    const auto opened = docroot.open(e.relative);
    if (e.error != 0) {
      CHECK_FALSE(opened);
      CHECK(opened.error.value() == e.error);
      continue;
    }
    REQUIRE(opened);
    CHECK_FALSE(opened.error);
    if (S_ISREG(opened.status.st_mode)) CHECK(read_all(opened.fd.get()) == e.content);
  }
}

std::vector<std::string> names_of(const DirectoryListing& listing) {
  std::vector<std::string> names;
  for (const auto& entry : listing.entries) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("Docroot: the same answers with openat2 and with the walk", "[static][docroot]") {
  Fixture fixture;
  SECTION("openat2") {
    const Docroot docroot(fixture.root, Docroot::Resolver::kOpenat2);
    check_table(docroot);
    // Not silently the walk: the docroot switches to it for good on ENOSYS (Linux >= 5.6 has openat2).
    REQUIRE(docroot.resolver() == Docroot::Resolver::kOpenat2);
  }
  SECTION("walk") {
    const Docroot docroot(fixture.root, Docroot::Resolver::kWalk);
    REQUIRE(docroot.resolver() == Docroot::Resolver::kWalk);
    check_table(docroot);
  }
}

TEST_CASE("Docroot: a FIFO opens without blocking and is no regular file", "[static][docroot]") {
  Fixture fixture;
  for (const auto resolver : {Docroot::Resolver::kOpenat2, Docroot::Resolver::kWalk}) {
    const Docroot docroot(fixture.root, resolver);
    const auto fifo = docroot.open("fifo");
    REQUIRE(fifo);
    CHECK(S_ISFIFO(fifo.status.st_mode));
  }
}

TEST_CASE("Docroot: a missing root throws, naming it", "[static][docroot]") {
  TempDir tree;
  try {
    const Docroot docroot(tree.path() / "nope");
    FAIL("no exception");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("nope") != std::string::npos);
    CHECK(e.code().value() == ENOENT);
  }
  tree.write("file", "x");
  CHECK_THROWS_AS(Docroot(tree.path() / "file"), std::system_error);
}

TEST_CASE("Docroot::list: files and directories that open beneath the root", "[static][docroot]") {
  Fixture fixture;
  for (const auto resolver : {Docroot::Resolver::kOpenat2, Docroot::Resolver::kWalk}) {
    const Docroot docroot(fixture.root, resolver);
    DirectoryListing listing;
    REQUIRE_FALSE(docroot.list("", false, 100, listing));
    CHECK_FALSE(listing.truncated);
    // Escaping and dangling links, loops, the FIFO and the dotfile are all left out.
    CHECK(names_of(listing) == std::vector<std::string>{"index.html", "link_dir", "link_in", "sub"});
    for (const auto& entry : listing.entries) {
      if (entry.name == "link_in") {
        CHECK_FALSE(entry.is_directory);
        CHECK(entry.size == 4);
      }
      if (entry.name == "sub" || entry.name == "link_dir") CHECK(entry.is_directory);
    }

    REQUIRE_FALSE(docroot.list("", true, 100, listing));
    CHECK(names_of(listing) == std::vector<std::string>{".hidden", "index.html", "link_dir", "link_in", "sub"});

    REQUIRE_FALSE(docroot.list("", false, 2, listing));
    CHECK(listing.truncated);
    CHECK(listing.entries.size() == 2);

    REQUIRE_FALSE(docroot.list("link_dir", false, 100, listing));
    CHECK(names_of(listing) == std::vector<std::string>{"deeper", "file.txt", "link_dotdot", "link_parent"});

    CHECK(docroot.list("link_dir_out", false, 100, listing).value() == EXDEV);
    CHECK(docroot.list("index.html", false, 100, listing).value() == ENOTDIR);
  }
}

TEST_CASE("Docroot: openat2 failing with ENOSYS switches to the walk", "[static][docroot]") {
  Fixture fixture;
  constexpr int kCannotFilter = 10;
  // In a child, because a seccomp filter cannot be removed once installed.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kCannotFilter);
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) ::_exit(kCannotFilter);
    const Docroot docroot(fixture.root, Docroot::Resolver::kOpenat2);
    if (docroot.resolver() != Docroot::Resolver::kOpenat2) ::_exit(12);
    const auto inside = docroot.open("link_dir/file.txt");
    if (!inside || read_all(inside.fd.get()) != "file") ::_exit(13);
    if (docroot.resolver() != Docroot::Resolver::kWalk) ::_exit(14);
    if (docroot.open("link_out").error.value() != EXDEV) ::_exit(15);
    if (docroot.open("link_dir_out/outside/secret.txt").error.value() != EXDEV) ::_exit(16);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kCannotFilter) {
    // A sandbox that forbids seccomp filters; the walk itself is still covered by the tests above.
    WARN("could not install a seccomp filter here: automatic fallback not exercised");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}
