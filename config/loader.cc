// Loading a config: reading the main file and its includes, parsing each file's top level into
// one merged LoadState, then the cross-file checks. Merge order is pre-order: a file's own
// entries, then each of its includes in lexical order (each followed by its own includes).
#include "config/loader.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "config/credential_files.h"
#include "config/sections.h"

namespace sluice::config {
namespace {

// Top-level keys that hold one value: a second definition (in any file) is an error.
constexpr std::string_view kSingleSections[] = {
    "workers",  "admin",   "limits", "trusted_proxies", "access_log", "rate_limit_store",
    "resolver", "tracing", "io",     "cache_sync"};

std::optional<IoMode> parseIoMode(Reader& r, const YAML::Node& node) {
  std::string_view v = node.IsScalar() ? std::string_view(node.Scalar()) : std::string_view();
  if (v == "auto") return IoMode::Auto;
  if (v == "uring") return IoMode::Uring;
  if (v == "epoll") return IoMode::Epoll;
  r.error(node, "io: expected auto, uring or epoll, got " + describeNode(node));
  return std::nullopt;
}

struct Include {
  std::string path;
  Origin at;  // the `include:` entry that named it
};

bool hasGlobChars(std::string_view s) {
  return s.find_first_of("*?[") != std::string_view::npos;
}

std::string canonicalKey(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? path : p.string();
}

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  // Loads one file's text and then, recursively, its includes.
  void loadText(const std::string& path, std::string_view text) {
    seen_.insert(canonicalKey(path));
    state_.config.files.push_back(path);
    std::vector<Include> includes;
    Reader r(path, &errors_, &options_);
    try {
      std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
      if (docs.size() > 1) {
        r.error(docs[1],
                "a config file holds one YAML document; remove the \"---\" separator "
                "or move the rest into an included file");
      }
      if (!docs.empty()) parseTop(r, docs[0], &includes);
    } catch (const YAML::Exception& e) {
      // yaml-cpp's own marks are 0-based like node marks.
      r.error(Origin{path, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
      unparsed_ = true;
    } catch (const std::exception& e) {
      r.error(Origin{path, 1, 1}, std::string("could not read this file: ") + e.what());
    }
    for (const auto& inc : includes) {
      if (seen_.count(canonicalKey(inc.path))) continue;  // cycles and overlapping globs
      std::string err;
      auto data = readCredentialFile(inc.path, &err);
      if (!data) {
        errors_.push_back(Diagnostic{inc.at.file, inc.at.line, inc.at.column,
                                     "cannot read included file \"" + inc.path + "\": " + err});
        continue;
      }
      loadText(inc.path, *data);
    }
  }

  LoadResult finish(const std::string& source_path) {
    state_.config.source_path = source_path;
    // A file that did not parse would make every reference into it look undefined.
    if (!unparsed_) crossCheck(state_, &errors_);
    // spec/config.md: trusted_proxies defaults to the loopback address (a local front proxy).
    if (!state_.sections.count("trusted_proxies")) {
      if (auto loopback = parseCidr("127.0.0.1/32"); loopback.ok()) {
        state_.config.trusted_proxies.push_back(*loopback);
      }
    }
    // File order (as merged), then position; errors of one file come together.
    const auto& files = state_.config.files;
    auto rank = [&](const Diagnostic& d) {
      auto it = std::find(files.begin(), files.end(), d.file);
      return std::make_tuple(it - files.begin(), d.line, d.column);
    };
    std::stable_sort(errors_.begin(), errors_.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) { return rank(a) < rank(b); });
    LoadResult result;
    if (errors_.empty()) {
      result.config = std::make_shared<const Config>(std::move(state_.config));
    }
    result.errors = std::move(errors_);
    return result;
  }

 private:
  void parseTop(Reader& r, const YAML::Node& root, std::vector<Include>* includes) {
    MapReader m(r, root, "the top level",
                {"workers", "io", "include", "listeners", "admin", "limits", "trusted_proxies",
                 "access_log", "upstreams", "rate_limit_store", "resolver", "tracing", "routes",
                 "cache_sync"});
    if (!m.ok()) {
      unparsed_ = true;  // nothing of this file is known; cross checks would only add noise
      return;
    }
    for (auto key : kSingleSections) {
      if (!m.has(key)) continue;
      auto [it, first] = state_.sections.emplace(std::string(key), r.origin(m.keyNode(key)));
      if (!first) {
        r.error(m.keyNode(key), "\"" + std::string(key) + "\" is already set in " +
                                    it->second.text() + "; set each section in one file only");
      }
    }
    Config& c = state_.config;
    if (m.has("workers")) {
      if (auto w = parseWorkers(r, m.get("workers"))) c.workers = *w;
    }
    if (m.has("io")) {
      if (auto io = parseIoMode(r, m.get("io"))) c.io = *io;
    }
    if (m.has("admin")) c.admin = parseAdmin(r, m.get("admin"));
    if (m.has("limits")) c.limits = parseLimits(r, m.get("limits"));
    if (m.has("trusted_proxies"))
      c.trusted_proxies = parseTrustedProxies(r, m.get("trusted_proxies"));
    if (m.has("access_log")) c.access_log = parseAccessLog(r, m.get("access_log"));
    if (m.has("rate_limit_store")) {
      c.rate_limit_store = parseRateLimitStore(r, m.get("rate_limit_store"));
    }
    if (m.has("cache_sync")) c.cache_sync = parseCacheSync(r, m.get("cache_sync"));
    if (m.has("tracing")) c.tracing = parseTracing(r, m.get("tracing"));
    if (m.has("resolver")) c.resolver = parseResolver(r, m.get("resolver"));
    if (m.has("listeners")) parseListeners(r, m.get("listeners"));
    if (m.has("upstreams")) parseUpstreams(r, m.get("upstreams"));
    if (m.has("routes")) parseRoutes(r, m.get("routes"));
    if (m.has("include")) expandIncludes(r, m.get("include"), includes);
  }

  // Records `name` in `seen`, or reports it as a duplicate of the first definition.
  void claimName(Reader& r, const YAML::Node& item, std::string_view kind, const std::string& name,
                 std::map<std::string, Origin>& seen) {
    if (name.empty()) return;  // missing or invalid: reported already
    Origin at = r.origin(item["name"]);
    auto [it, first] = seen.emplace(name, at);
    if (!first) {
      r.error(at, "duplicate " + std::string(kind) + " name \"" + name + "\"; the first is at " +
                      it->second.text() + "; give each " + std::string(kind) + " its own name");
    }
  }

  void parseListeners(Reader& r, const YAML::Node& node) {
    auto items = r.list(node, "listeners");
    if (!items) {
      state_.listeners_unreadable = true;
      return;
    }
    for (const auto& item : *items) {
      Listener l = parseListener(r, item);
      claimName(r, item, "listener", l.name, state_.listener_names);
      if (l.address.port != 0) {
        Origin at = r.origin(item["address"]);
        auto [it, first] = state_.listener_addresses.emplace(l.address.text(), at);
        if (!first) {
          r.error(at, "address " + l.address.text() + " is already used by the listener at " +
                          it->second.text() + "; give each listener its own address");
        }
      }
      state_.config.listeners.push_back(std::move(l));
    }
  }

  void parseUpstreams(Reader& r, const YAML::Node& node) {
    auto items = r.list(node, "upstreams");
    if (!items) return;
    for (const auto& item : *items) {
      Upstream u = parseUpstream(r, item);
      claimName(r, item, "upstream", u.name, state_.upstream_names);
      state_.config.upstreams.push_back(std::move(u));
    }
  }

  void parseRoutes(Reader& r, const YAML::Node& node) {
    auto items = r.list(node, "routes");
    if (!items) return;
    for (const auto& item : *items) {
      RouteRefs refs;
      Route route = parseRoute(r, item, &refs);
      claimName(r, item, "route", route.name, state_.route_names);
      state_.config.routes.push_back(std::move(route));
      state_.route_refs.push_back(std::move(refs));
    }
  }

  // `include:` is a glob or a list of globs, relative to the including file's directory.
  void expandIncludes(Reader& r, const YAML::Node& node, std::vector<Include>* out) {
    std::vector<YAML::Node> patterns;
    if (node.IsScalar()) {
      patterns.push_back(node);
    } else if (auto items = r.list(node, "include")) {
      patterns = *items;
    }
    for (const auto& p : patterns) {
      auto text = r.string(p, "include");
      if (!text) continue;
      if (text->empty()) {
        r.error(p, "include: the pattern is empty; write e.g. conf.d/*.yaml");
        continue;
      }
      std::filesystem::path pattern(*text);
      if (pattern.is_relative() && !r.dir().empty())
        pattern = std::filesystem::path(r.dir()) / pattern;
      if (!hasGlobChars(*text)) {
        out->push_back(Include{pattern.string(), r.origin(p)});
        continue;
      }
      glob_t g{};
      int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
      std::vector<std::string> matches;
      if (rc == 0) matches.assign(g.gl_pathv, g.gl_pathv + g.gl_pathc);
      globfree(&g);
      if (rc != 0 && rc != GLOB_NOMATCH) {
        r.error(p, "include: cannot list \"" + pattern.string() + "\"");
        continue;
      }
      std::sort(matches.begin(), matches.end());  // byte order, whatever the locale
      for (auto& path : matches) out->push_back(Include{std::move(path), r.origin(p)});
    }
  }

  const LoadOptions& options_;
  LoadState state_;
  std::vector<Diagnostic> errors_;
  std::set<std::string> seen_;
  bool unparsed_ = false;  // some file had a YAML syntax error
};

}  // namespace

std::string Diagnostic::text() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult loadString(std::string_view yaml, const std::string& name, const LoadOptions& options) {
  try {
    Loader loader(options);
    loader.loadText(name, yaml);
    return loader.finish(name);
  } catch (const std::exception& e) {  // e.g. bad_alloc: still no exception escapes
    return LoadResult{nullptr,
                      {Diagnostic{name, 0, 0, std::string("internal error: ") + e.what()}}};
  }
}

LoadResult loadFile(const std::string& path, const LoadOptions& options) {
  std::string err;
  auto data = readCredentialFile(path, &err);
  if (!data)
    return LoadResult{nullptr, {Diagnostic{path, 0, 0, "cannot read the config file: " + err}}};
  return loadString(*data, path, options);
}

}  // namespace sluice::config
