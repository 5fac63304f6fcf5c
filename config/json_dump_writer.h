// Internal to the config dump (json_dump*.cc): the streaming JSON writer and the writers of the
// sections that have files of their own.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/json_dump.h"
#include "config/units.h"

namespace sluice::config::dump {

// A minimal streaming writer: tracks whether a comma is due at each nesting level.
class JsonWriter {
 public:
  std::string take() { return std::move(out_); }

  JsonWriter& key(std::string_view k) {
    comma();
    out_ += jsonQuote(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginArray() { open('['); }
  void endArray() { close(']'); }
  void string(std::string_view s) { raw(jsonQuote(s)); }
  void boolean(bool b) { raw(b ? "true" : "false"); }
  void null() { raw("null"); }
  void integer(uint64_t v) { raw(std::to_string(v)); }
  void number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    raw(ec == std::errc() ? std::string(buf, end) : std::string("0"));
  }
  void optString(const std::optional<std::string>& s) { s ? string(*s) : null(); }
  void duration(Duration d) { string(formatDuration(d)); }
  void optDuration(const std::optional<Duration>& d) { d ? duration(*d) : null(); }
  void strings(const std::vector<std::string>& items) {
    beginArray();
    for (const auto& s : items) string(s);
    endArray();
  }
  void headerMap(const std::vector<std::pair<std::string, std::string>>& headers) {
    beginObject();
    for (const auto& [name, value] : headers) key(name).string(value);
    endObject();
  }

 private:
  void comma() {
    if (!first_.empty() && !first_.back()) out_ += ',';
    if (!first_.empty()) first_.back() = false;
  }
  void raw(std::string_view text) {
    if (!after_key_) comma();
    after_key_ = false;
    out_ += text;
  }
  void open(char c) {
    raw(std::string_view(&c, 1));
    first_.push_back(true);
  }
  void close(char c) {
    first_.pop_back();
    out_ += c;
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

void writeCertificate(JsonWriter& w, const Certificate& c);  // json_dump.cc
void writeUpstream(JsonWriter& w, const Upstream& u);        // json_dump_upstream.cc
void writeRoute(JsonWriter& w, const Route& r);              // json_dump_route.cc

}  // namespace sluice::config::dump
