// Runs every config in tests/config/bad/ and checks that the loader reports exactly the
// diagnostics its `# expect:` lines name (the convention is in tests/config/bad/README).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "config/loader.h"

namespace sluice::config {
namespace {

namespace fs = std::filesystem;

const std::string kCorpus = std::string(SLUICE_SOURCE_DIR) + "/tests/config/bad";

std::vector<std::string> corpusFiles() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> expectations(const std::string& name) {
  std::ifstream in(kCorpus + "/" + name);
  std::vector<std::string> out;
  const std::string tag = "# expect: ";
  for (std::string line; std::getline(in, line) && line.rfind(tag, 0) == 0;) {
    std::string e = line.substr(tag.size());
    // Without a file name the error is in this file.
    out.push_back(!e.empty() && e[0] >= '0' && e[0] <= '9' ? name + ":" + e : e);
  }
  return out;
}

std::string relative(std::string text) {
  const std::string prefix = kCorpus + "/";
  for (size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
  return text;
}

class BadConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(BadConfig, ReportsExactlyTheExpectedErrors) {
  const std::string name = GetParam();
  auto expected = expectations(name);
  ASSERT_FALSE(expected.empty()) << name << " has no `# expect:` line";
  auto result = loadFile(kCorpus + "/" + name);
  EXPECT_FALSE(result.config);
  std::vector<std::string> actual;
  for (const auto& d : result.errors) actual.push_back(relative(d.text()));
  EXPECT_THAT(actual, ::testing::UnorderedElementsAreArray(expected));
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadConfig, ::testing::ValuesIn(corpusFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(BadCorpus, HasTheCoverageItPromises) {
  EXPECT_GE(corpusFiles().size(), 30u);
}

}  // namespace
}  // namespace sluice::config
