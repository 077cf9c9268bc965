// StaticFiles: the request -> response decisions for files and directories under the docroot.
// Files come through FileLookup (a per-thread cache over Docroot); protocol rules are pure modules.
#include "pulse/handlers/static/static_files.hpp"

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pulse/handlers/static/autoindex.hpp"
#include "pulse/handlers/static/docroot.hpp"
#include "pulse/handlers/static/file_lookup.hpp"
#include "pulse/handlers/static/mime_types.hpp"
#include "pulse/handlers/static/path_sanitizer.hpp"
#include "pulse/http/accept_encoding.hpp"
#include "pulse/http/byte_range.hpp"
#include "pulse/http/conditional.hpp"
#include "pulse/http/http_date.hpp"

namespace pulse::handlers::static_files {
namespace {

using http::Method;
using http::Response;

constexpr std::string_view kAllowedMethods = "GET, HEAD, OPTIONS";
constexpr std::string_view kIndexFile = "index.html";
std::string join(std::string_view directory, std::string_view name) {
  if (directory.empty()) return std::string(name);
  std::string path;
  path.reserve(directory.size() + 1 + name.size());
  path.append(directory).append("/").append(name);
  return path;
}

bool is_missing(const std::error_code& error) noexcept {
  return error.value() == ENOENT || error.value() == ENOTDIR;
}

// The status an open() failure deserves. A path that would leave the root is refused (403)
// without saying where it leads.
Response response_for_open_error(const std::error_code& error) {
  switch (error.value()) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG: return Response::error(404);
    case EXDEV:
    case ELOOP:
    case EACCES:
    case EPERM: return Response::error(403);
    case EMFILE:
    case ENFILE:
    case ENOMEM: return Response::error(503, "The server is out of file descriptors; try again shortly.");
    default: return Response::error(500);
  }
}

http::ConditionalHeaders conditional_headers_of(const http::Request& request) {
  return {request.header("If-Match"), request.header("If-None-Match"), request.header("If-Modified-Since"),
          request.header("If-Unmodified-Since")};
}

// Per type (mime_index_for), the lines every 200 or 206 of a file of that type carries. Made
// once for the process and never freed, so a response points at them without owning them: no
// reference count that every worker would bump on the same cache line for every file.
std::shared_ptr<const std::string> type_lines(std::size_t type) {
  static const std::vector<std::string>* const table = [] {
    auto* lines = new std::vector<std::string>;
    for (std::size_t index = 0; index <= mime_table().size(); ++index) {
      std::string text;
      text.append("Content-Type: ").append(mime_type_at(index)).append("\r\n");
      text.append("Accept-Ranges: bytes\r\nX-Content-Type-Options: nosniff\r\n");
      lines->push_back(std::move(text));
    }
    return lines;
  }();
  return std::shared_ptr<const std::string>(std::shared_ptr<const std::string>(), &(*table)[type]);
}

}  // namespace

struct StaticFiles::Impl {
  StaticFilesOptions options;
  Docroot docroot;
  ThreadLocalFileCache cache;

  explicit Impl(StaticFilesOptions opts)
      : options(std::move(opts)),
        docroot(options.root, options.force_path_walk ? Docroot::Resolver::kWalk : Docroot::Resolver::kOpenat2),
        cache(options.cache.limits) {}

  [[nodiscard]] Response handle(const http::Request& request) const;
  [[nodiscard]] Response serve_directory(const http::Request& request, const SanitizedPath& path,
                                         FileLookup& files) const;
  [[nodiscard]] Response serve_listing(const SanitizedPath& path) const;
  // `relative` is the file's path beneath the root, which its Content-Type is taken from.
  [[nodiscard]] Response serve_file(const http::Request& request, std::string_view relative, FileLookup& files,
                                    std::shared_ptr<const FileVersion> version) const;
};

Response StaticFiles::Impl::handle(const http::Request& request) const {
  if (request.method == Method::kOptions) {
    Response response;
    response.status = 204;
    response.set_header("Allow", std::string(kAllowedMethods));
    return response;
  }
  if (request.method != Method::kGet && request.method != Method::kHead) {
    auto response = Response::error(405);
    response.set_header("Allow", std::string(kAllowedMethods));
    return response;
  }

  const SanitizedPath path = sanitize_path(request.path);
  if (!path.ok()) return Response::error(400, to_string(path.status));
  // Not found rather than forbidden: whether /.env exists is itself worth hiding.
  if (path.has_hidden_component && !options.serve_dotfiles) return Response::error(404);

  // The loop's time when the request came from a connection: no clock read per request.
  const auto now =
      request.received_at != base::MonotonicClock::time_point{} ? request.received_at : base::MonotonicClock::now();
  FileLookup files(docroot, options.cache, options.cache.enabled ? &cache.local() : nullptr, now);
  // Only regular files are cached, so a hit needs none of the checks below; a directory request
  // ("/docs/") asks for the directory's index.
  const std::string index = path.directory_form ? join(path.relative, kIndexFile) : std::string();
  const std::string_view served = path.directory_form ? std::string_view(index) : std::string_view(path.relative);
  if (auto version = files.cached(served)) return serve_file(request, served, files, std::move(version));

  OpenedFile target = files.open(path.relative);
  if (!target) return response_for_open_error(target.error);
  if (S_ISDIR(target.status.st_mode)) return serve_directory(request, path, files);
  // FIFOs, sockets and devices are never served.
  if (!S_ISREG(target.status.st_mode)) return Response::error(403);
  // "/file.txt/" names a directory that does not exist.
  if (path.directory_form) return Response::error(404);
  return serve_file(request, path.relative, files, files.remember(path.relative, std::move(target)));
}

Response StaticFiles::Impl::serve_directory(const http::Request& request, const SanitizedPath& path,
                                            FileLookup& files) const {
  if (!path.directory_form) {
    // Built from the normalised path, never echoed: "//evil.example/" must not become a
    // protocol-relative Location. The query string survives the redirect.
    std::string location = encode_path("/" + path.relative) + "/";
    if (!request.query.empty()) location.append("?").append(request.query);
    auto response = Response::error(301, "This directory lives at " + location);
    response.set_header("Location", std::move(location));
    return response;
  }

  const std::string index = join(path.relative, kIndexFile);
  OpenedFile index_file = files.open(index);
  if (index_file && S_ISREG(index_file.status.st_mode)) {
    return serve_file(request, index, files, files.remember(index, std::move(index_file)));
  }
  if (!index_file && !is_missing(index_file.error)) return response_for_open_error(index_file.error);

  if (!options.autoindex) return Response::error(403, "Directory listing is disabled.");
  return serve_listing(path);
}

Response StaticFiles::Impl::serve_listing(const SanitizedPath& path) const {
  DirectoryListing listing;
  if (const auto error = docroot.list(path.relative, options.serve_dotfiles, kMaxAutoindexEntries, listing)) {
    return response_for_open_error(error);
  }
  const std::string url_path = path.relative.empty() ? "/" : "/" + path.relative + "/";
  return Response::text(200, render_autoindex(url_path, std::move(listing.entries), listing.truncated),
                        "text/html; charset=utf-8");
}

Response StaticFiles::Impl::serve_file(const http::Request& request, std::string_view relative, FileLookup& files,
                                       std::shared_ptr<const FileVersion> version) const {
  // The type is the original file's even when its .gz sibling is sent.
  const std::size_t type = mime_index_for(relative);
  bool gzip = false;
  if (options.precompressed) {
    if (const auto accept = request.header("Accept-Encoding"); accept && http::accepts_gzip(*accept)) {
      if (auto compressed = files.gzip_sibling(relative)) {
        version = std::move(compressed);
        gzip = true;
      }
    }
  }
  const std::uint64_t size = version->size();
  std::optional<http::Validators> recomputed;
  if (version->modified_in_future) recomputed = current_validators(*version);
  const http::Validators& validators = recomputed ? *recomputed : version->validators;

  // What a 304 must repeat (RFC 9110 section 15.4.5) goes on first. Names are distinct, so the
  // headers are appended rather than set.
  Response response;
  // Usually empty: the common fields are in shared lines, so nothing is reserved up front.
  auto& headers = response.headers;
  if (version->modified_in_future) {
    headers.push_back({"ETag", validators.etag});
    headers.push_back({"Last-Modified", http::format_http_date(validators.last_modified.time_since_epoch().count())});
  } else {
    // Shares the version's lines, and so keeps the version alive while the response is.
    response.header_lines[0] = std::shared_ptr<const std::string>(version, &version->validator_lines);
  }
  if (!options.cache_control.empty()) headers.push_back({"Cache-Control", options.cache_control});
  // The choice between file and file.gz depends on Accept-Encoding, so caches must key on it.
  if (options.precompressed) headers.push_back({"Vary", "Accept-Encoding"});

  switch (http::evaluate_preconditions(conditional_headers_of(request), validators)) {
    case http::Precondition::kNotModified: response.status = 304; return response;
    case http::Precondition::kPreconditionFailed: return Response::error(412);
    case http::Precondition::kProceed: break;
  }

  if (gzip) headers.push_back({"Content-Encoding", "gzip"});
  // Shared lines rather than strings per response, which cost four heap allocations per small
  // file: Content-Type, Accept-Ranges, X-Content-Type-Options.
  response.header_lines[1] = type_lines(type);

  // Range is defined for GET only (RFC 9110 section 14.2): HEAD gets the 200 headers.
  http::RangeDecision range;
  const auto range_header = request.header("Range");
  if (range_header && request.method == Method::kGet) {
    const auto if_range = request.header("If-Range");
    if (!if_range || http::if_range_holds(*if_range, validators)) range = http::evaluate_range(*range_header, size);
  }
  if (range.outcome == http::RangeOutcome::kUnsatisfiable) {
    auto unsatisfiable = Response::error(416);
    unsatisfiable.set_header("Content-Range", http::unsatisfied_content_range(size));
    unsatisfiable.set_header("Accept-Ranges", "bytes");
    return unsatisfiable;
  }

  http::ByteRange body{0, size};
  response.status = 200;
  if (range.outcome == http::RangeOutcome::kPartial) {
    body = range.range;
    response.status = 206;
    headers.push_back({"Content-Range", http::content_range(body, size)});
  }
  if (request.method == Method::kHead) {
    // The length a GET would get, without touching the bytes.
    response.head_content_length = body.length;
  } else if (version->in_memory()) {
    // The connection writes in-memory bodies together with their headers: one write, no sendfile.
    response.shared_body = http::SharedBody{version->content, body.first, body.length};
  } else if (body.length > 0) {
    // Shared: the cache may hand the same open file to other responses, and closing it waits
    // for the last of them.
    response.file = http::FileBody{version->fd, body.first, body.length};
  }
  return response;
}

StaticFiles::StaticFiles(StaticFilesOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

StaticFiles::~StaticFiles() = default;

http::Response StaticFiles::handle(const http::Request& request) {
  return impl_->handle(request);
}

}  // namespace pulse::handlers::static_files
