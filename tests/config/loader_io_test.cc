// Tests for the top-level `io:` key (config/loader.cc): the three modes, the default and a
// clear error for anything else.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace sluice::config {
namespace {

const LoadOptions kNoFileChecks{false, nullptr};

LoadResult withIo(const std::string& io) {
  return loadString(io + "listeners: [{name: public, address: 127.0.0.1:8080}]\n"
                         "upstreams: [{name: api, targets: [{address: 127.0.0.1:9001}]}]\n"
                         "routes: [{name: all, upstream: api}]\n",
                    "/etc/sluice/sluice.yaml", kNoFileChecks);
}

TEST(IoMode, DefaultIsEpoll) {
  auto r = withIo("");
  ASSERT_TRUE(r.config) << r.errors[0].text();
  EXPECT_EQ(r.config->io, IoMode::Epoll);
}

TEST(IoMode, EachModeParses) {
  EXPECT_EQ(withIo("io: auto\n").config->io, IoMode::Auto);
  EXPECT_EQ(withIo("io: uring\n").config->io, IoMode::Uring);
  EXPECT_EQ(withIo("io: epoll\n").config->io, IoMode::Epoll);
}

TEST(IoMode, AnythingElseIsAnError) {
  auto r = withIo("io: kqueue\n");
  EXPECT_FALSE(r.config);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].text().find("io: expected auto, uring or epoll"), std::string::npos)
      << r.errors[0].text();
}

}  // namespace
}  // namespace sluice::config
