#include "agent/config/token_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace vigil {
namespace {

using ::testing::HasSubstr;

FileReader Files(std::map<std::string, std::string> files) {
  return [files](const std::string& path) -> StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return Status::Error("cannot read token file '" + path + "': missing");
    return it->second;
  };
}

TEST(ReadTokenFile, TrailingNewlinesAndSpacesAreDropped) {
  auto token = ReadTokenFile("/t", Files({{"/t", "s3cret \r\n\n"}}));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(*token, "s3cret");
}

TEST(ReadTokenFile, AnEmptyOrBlankFileIsAnError) {
  for (const char* text : {"", "\n", " \r\n"}) {
    auto token = ReadTokenFile("/t", Files({{"/t", text}}));
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.status().message(), "token file '/t' is empty");
  }
}

TEST(ReadTokenFile, AMissingFileIsTheReadersError) {
  auto token = ReadTokenFile("/none", Files({}));
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(token.status().message(), HasSubstr("'/none'"));
}

TEST(CheckTokenFile, NamesWhereTheTokenFileWasSet) {
  Config config;
  config.source = "vigil.yaml";
  config.control.token_file = "/run/secrets/token";
  config.origin["control.token_file"] = "--token-file";
  Status s = CheckTokenFile(config, Files({}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("--token-file: control.token_file: "));
  EXPECT_THAT(s.message(), HasSubstr("/run/secrets/token"));
  config.origin.clear();
  EXPECT_THAT(CheckTokenFile(config, Files({})).message(), HasSubstr("vigil.yaml: "));
}

TEST(CheckTokenFile, NothingToCheckWithoutATokenFileOrAControlPlane) {
  Config config;
  EXPECT_TRUE(CheckTokenFile(config, Files({})).ok());
  config.control.token_file = "/missing";
  config.control.enabled = false;
  EXPECT_TRUE(CheckTokenFile(config, Files({})).ok());
  config.control.enabled = true;
  EXPECT_FALSE(CheckTokenFile(config, Files({})).ok());
  EXPECT_TRUE(CheckTokenFile(config, Files({{"/missing", "x"}})).ok());
}

}  // namespace
}  // namespace vigil
