// UserDb: /etc/passwd and /etc/group read without NSS (the static core's user lookup). The line
// parsers are pure; the lookups run on files written to a temporary directory: well-formed
// entries, comments and blanks, duplicates, malformed lines (named when they are the entry
// asked for, skipped and mentioned otherwise), lines longer than kMaxLine, a last line without
// its newline, missing files, a FIFO and a directory in a file's place, supplementary groups.
// Also ResolveCredentials (pool.h), which turns a pool's user/group into a spawn's credentials.
#include "agent/sys/user_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/supervisor/pool.h"

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// The line parsers
// ---------------------------------------------------------------------------------------------

TEST(ParsePasswdLineTest, AWellFormedLineGivesNameUidAndGid) {
  auto entry = ParsePasswdLine("app:x:1000:1001:App User:/home/app:/bin/sh");
  ASSERT_TRUE(entry.ok()) << entry.status().message();
  EXPECT_EQ(entry->name, "app");
  EXPECT_EQ(entry->uid, 1000u);
  EXPECT_EQ(entry->gid, 1001u);
}

TEST(ParsePasswdLineTest, EmptyTrailingFieldsAreFine) {
  auto entry = ParsePasswdLine("app:x:0:0:::");
  ASSERT_TRUE(entry.ok()) << entry.status().message();
  EXPECT_EQ(entry->uid, 0u);
}

TEST(ParsePasswdLineTest, TheWrongNumberOfFieldsIsNamed) {
  auto short_line = ParsePasswdLine("app:x:1000:1000");
  ASSERT_FALSE(short_line.ok());
  EXPECT_EQ(short_line.status().message(),
            "it has 4 fields, not 7 (name:password:uid:gid:gecos:home:shell)");
  auto long_line = ParsePasswdLine("app:x:1000:1000::/home/app:/bin/sh:extra");
  ASSERT_FALSE(long_line.ok());
  EXPECT_THAT(long_line.status().message(), HasSubstr("it has 8 fields, not 7"));
  auto one = ParsePasswdLine("garbage");
  ASSERT_FALSE(one.ok());
  EXPECT_THAT(one.status().message(), HasSubstr("it has 1 field, not 7"));
}

TEST(ParsePasswdLineTest, AnEmptyNameIsMalformed) {
  auto entry = ParsePasswdLine(":x:1000:1000::/:/bin/sh");
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.status().message(), "the name is empty");
}

TEST(ParsePasswdLineTest, IdsMustBeDecimalNumbersInRange) {
  EXPECT_EQ(ParsePasswdLine("a:x:abc:1::/:").status().message(), "uid 'abc' is not a number");
  EXPECT_EQ(ParsePasswdLine("a:x::1::/:").status().message(), "uid '' is not a number");
  EXPECT_EQ(ParsePasswdLine("a:x:-1:1::/:").status().message(), "uid '-1' is not a number");
  EXPECT_EQ(ParsePasswdLine("a:x: 1:1::/:").status().message(), "uid ' 1' is not a number");
  EXPECT_EQ(ParsePasswdLine("a:x:1:0x10::/:").status().message(), "gid '0x10' is not a number");
  EXPECT_EQ(ParsePasswdLine("a:x:4294967295:1::/:").status().message(),
            "uid '4294967295' is out of range (at most 4294967294)");
  EXPECT_EQ(ParsePasswdLine("a:x:1:99999999999999999999999::/:").status().message(),
            "gid '99999999999999999999999' is out of range (at most 4294967294)");
  auto top = ParsePasswdLine("a:x:4294967294:4294967294::/:");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->uid, 4294967294u);
}

TEST(ParsePasswdLineTest, UntrustedTextInErrorsIsQuotedAndCut) {
  const std::string uid(1000, 'z');
  auto entry = ParsePasswdLine("a:x:" + uid + ":1::/:");
  ASSERT_FALSE(entry.ok());
  EXPECT_LT(entry.status().message().size(), 200u);
  EXPECT_THAT(entry.status().message(), HasSubstr("(1000 bytes)"));
  EXPECT_EQ(ParsePasswdLine(std::string("a:x:\x01\xff:1::/:")).status().message(),
            "uid '\\x01\\xff' is not a number");
}

TEST(ParseGroupLineTest, MembersAreListed) {
  auto entry = ParseGroupLine("staff:x:50:alice,bob");
  ASSERT_TRUE(entry.ok()) << entry.status().message();
  EXPECT_EQ(entry->name, "staff");
  EXPECT_EQ(entry->gid, 50u);
  EXPECT_THAT(entry->members, ElementsAre("alice", "bob"));
}

TEST(ParseGroupLineTest, NoMembersAndEmptyItems) {
  auto none = ParseGroupLine("app:x:1000:");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->members.empty());
  auto gaps = ParseGroupLine("app:x:1000:,alice,,");
  ASSERT_TRUE(gaps.ok());
  EXPECT_THAT(gaps->members, ElementsAre("alice"));
}

TEST(ParseGroupLineTest, MalformedLinesAreNamed) {
  EXPECT_EQ(ParseGroupLine("app:x:1000").status().message(),
            "it has 3 fields, not 4 (name:password:gid:members)");
  EXPECT_EQ(ParseGroupLine("app:x:g:").status().message(), "gid 'g' is not a number");
  EXPECT_EQ(ParseGroupLine(":x:1:").status().message(), "the name is empty");
}

// ---------------------------------------------------------------------------------------------
// Lookups in files
// ---------------------------------------------------------------------------------------------

class UserDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-userdb-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }
  UserDb Db() const { return UserDb(dir_ + "/passwd", dir_ + "/group"); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST_F(UserDbTest, FindsAUserPastCommentsBlankLinesAndLeadingBlanks) {
  Write("passwd",
        "# users\n"
        "\n"
        "   \t\n"
        "root:x:0:0:root:/root:/bin/sh\n"
        "  # indented comment\n"
        "\tapp:x:1000:1001::/home/app:/bin/sh\n");
  auto app = Db().FindUser("app");
  ASSERT_TRUE(app.ok()) << app.status().message();
  EXPECT_EQ(app->uid, 1000u);
  EXPECT_EQ(app->gid, 1001u);
  auto root = Db().FindUser("root");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0u);
}

TEST_F(UserDbTest, TheFirstEntryOfANameWins) {
  Write("passwd", "app:x:1000:1000::/:\napp:x:2000:2000::/:\n");
  auto app = Db().FindUser("app");
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->uid, 1000u);
}

TEST_F(UserDbTest, ALastLineWithoutItsNewlineCounts) {
  Write("passwd", "root:x:0:0::/:\napp:x:1000:1000::/:/bin/sh");
  auto app = Db().FindUser("app");
  ASSERT_TRUE(app.ok()) << app.status().message();
  EXPECT_EQ(app->uid, 1000u);
}

TEST_F(UserDbTest, NamesMatchExactly) {
  Write("passwd", "application:x:1000:1000::/:\nAPP:x:1001:1001::/:\n");
  auto app = Db().FindUser("app");
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().message(), "no such user 'app' in " + Path("passwd"));
}

TEST_F(UserDbTest, AMalformedEntryOfTheNameAskedForIsAnErrorNamingFileLineAndFault) {
  Write("passwd", "root:x:0:0::/:\n# comment\napp:x:thousand:1000::/:\napp:x:1000:1000::/:\n");
  auto app = Db().FindUser("app");
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().message(), Path("passwd") +
                                        ":3: the entry for user 'app' is malformed: uid "
                                        "'thousand' is not a number");
}

TEST_F(UserDbTest, OtherMalformedLinesAreSkippedAndTheFirstIsMentionedWhenNotFound) {
  Write("passwd", "root:x:0:0::/:\nbroken line\nweird:x:1:1\napp:x:1000:1000::/:\n");
  auto app = Db().FindUser("app");
  ASSERT_TRUE(app.ok()) << app.status().message();
  EXPECT_EQ(app->uid, 1000u);
  auto web = Db().FindUser("web");
  ASSERT_FALSE(web.ok());
  EXPECT_EQ(web.status().message(), "no such user 'web' in " + Path("passwd") +
                                        " (line 2 was skipped as malformed: it has 1 field, not 7 "
                                        "(name:password:uid:gid:gecos:home:shell))");
}

TEST_F(UserDbTest, ALineLongerThanTheLimitIsMalformedAndReadingGoesOn) {
  const std::string huge = "big:x:1:1:" + std::string(UserDb::kMaxLine + 10, 'g') + ":/:\n";
  Write("passwd", "root:x:0:0::/:\n" + huge + "app:x:1000:1000::/:\n");
  auto big = Db().FindUser("big");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(), Path("passwd") +
                                        ":2: the entry for user 'big' is malformed: it is longer "
                                        "than 1048576 bytes");
  auto app = Db().FindUser("app");  // counted as line 3, after the long one
  ASSERT_TRUE(app.ok()) << app.status().message();
  EXPECT_EQ(app->uid, 1000u);
  auto web = Db().FindUser("web");
  ASSERT_FALSE(web.ok());
  EXPECT_THAT(web.status().message(),
              HasSubstr("(line 2 was skipped as malformed: it is longer than 1048576 bytes)"));
}

TEST_F(UserDbTest, ALineOfExactlyTheLimitIsRead) {
  const std::string head = "edge:x:7:7:";
  const std::string tail = ":/:";
  std::string line = head + std::string(UserDb::kMaxLine - head.size() - tail.size(), 'e') + tail;
  ASSERT_EQ(line.size(), UserDb::kMaxLine);
  Write("passwd", line + "\n");
  auto edge = Db().FindUser("edge");
  ASSERT_TRUE(edge.ok()) << edge.status().message();
  EXPECT_EQ(edge->uid, 7u);
}

TEST_F(UserDbTest, MissingFilesNameTheFileForNamesAndHoldNothingForIds) {
  auto app = Db().FindUser("app");
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().message(), "no such user 'app': " + Path("passwd") +
                                        " does not exist (Vigil reads users from it, without NSS)");
  auto group = Db().FindGroup("staff");
  ASSERT_FALSE(group.ok());
  EXPECT_THAT(group.status().message(),
              HasSubstr("no such group 'staff': " + Path("group") + " does not exist"));
  auto by_id = Db().FindUserById(1000);
  ASSERT_TRUE(by_id.ok());
  EXPECT_FALSE(by_id->has_value());
  auto groups = Db().GroupsOf("app", 1000);
  ASSERT_TRUE(groups.ok());
  EXPECT_THAT(*groups, ElementsAre(1000u));
}

TEST_F(UserDbTest, AnythingButARegularFileIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(Path("passwd").c_str(), 0600), 0);  // nobody ever writes to it
  auto app = Db().FindUser("app");
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().message(), Path("passwd") + " is not a regular file");
  ASSERT_EQ(::mkdir(Path("group").c_str(), 0700), 0);
  auto groups = Db().GroupsOf("app", 1000);
  ASSERT_FALSE(groups.ok());
  EXPECT_EQ(groups.status().message(), Path("group") + " is not a regular file");
}

TEST_F(UserDbTest, FindUserByIdTakesTheFirstWellFormedEntryOfTheUid) {
  Write("passwd", "bad:x:1000:oops::/:\nfirst:x:1000:50::/:\nsecond:x:1000:60::/:\n");
  auto entry = Db().FindUserById(1000);
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->name, "first");
  EXPECT_EQ((*entry)->gid, 50u);
  auto none = Db().FindUserById(4242);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(UserDbTest, FindGroupByName) {
  Write("group", "root:x:0:\nstaff:x:50:alice\n");
  auto staff = Db().FindGroup("staff");
  ASSERT_TRUE(staff.ok()) << staff.status().message();
  EXPECT_EQ(staff->gid, 50u);
  auto wheel = Db().FindGroup("wheel");
  ASSERT_FALSE(wheel.ok());
  EXPECT_EQ(wheel.status().message(), "no such group 'wheel' in " + Path("group"));
}

TEST_F(UserDbTest, GroupsOfIsThePrimaryThenEveryGroupListingTheUserOnce) {
  Write("group",
        "root:x:0:\n"
        "app:x:1000:app\n"  // the primary again: not repeated
        "staff:x:50:alice,app,bob\n"
        "malformed:x:nope:app\n"   // skipped: fewer groups, never more
        "apps:x:51:application\n"  // not a member: names match exactly
        "audio:x:29:app\n"
        "audio2:x:29:app\n");  // the same gid again: once
  auto groups = Db().GroupsOf("app", 1000);
  ASSERT_TRUE(groups.ok()) << groups.status().message();
  EXPECT_THAT(*groups, ElementsAre(1000u, 50u, 29u));
}

TEST_F(UserDbTest, MoreGroupsThanAProcessCanHaveIsAnError) {
  std::string text;
  for (size_t gid = 1; gid <= UserDb::kMaxGroups; ++gid)
    text += "g" + std::to_string(gid) + ":x:" + std::to_string(gid) + ":app\n";
  Write("group", text);
  auto groups = Db().GroupsOf("app", 0);  // 0 + 65536 others: one too many
  ASSERT_FALSE(groups.ok());
  EXPECT_EQ(groups.status().message(), "user 'app' is in more than 65536 groups in " +
                                           Path("group") + " (the most a process can have)");
  auto fits = Db().GroupsOf("app", 1);  // 1 is among them: exactly 65536
  ASSERT_TRUE(fits.ok()) << fits.status().message();
  EXPECT_EQ(fits->size(), UserDb::kMaxGroups);
}

// ---------------------------------------------------------------------------------------------
// ResolveCredentials (pool.h): a pool's user/group into a spawn's uid, gid and groups
// ---------------------------------------------------------------------------------------------

class ResolveCredentialsTest : public UserDbTest {
 protected:
  void SetUp() override {
    UserDbTest::SetUp();
    Write("passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    Write("group", "root:x:0:\napp:x:1000:\nstaff:x:50:app\nweb:x:80:\n");
  }
  SpawnRequest Resolve(const std::string& user, const std::string& group, Status* status) {
    PoolConfig config;
    config.user = user;
    config.group = group;
    SpawnRequest request;
    *status = ResolveCredentials(config, Db(), &request);
    return request;
  }
};

TEST_F(ResolveCredentialsTest, AUserNameGivesItsUidGidAndGroups) {
  Status s;
  SpawnRequest r = Resolve("app", "", &s);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.uid, 1000u);
  EXPECT_EQ(r.gid, 1000u);
  EXPECT_THAT(r.groups, ElementsAre(1000u, 50u));
}

TEST_F(ResolveCredentialsTest, AGroupOverridesThePrimaryGroup) {
  Status s;
  SpawnRequest r = Resolve("app", "web", &s);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.gid, 80u);
  EXPECT_THAT(r.groups, ElementsAre(80u, 50u));
  r = Resolve("app", "90", &s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(r.gid, 90u);
  EXPECT_THAT(r.groups, ElementsAre(90u, 50u));
}

TEST_F(ResolveCredentialsTest, ANumericUidWithAnEntryTakesItsGroups) {
  Status s;
  SpawnRequest r = Resolve("1000", "", &s);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.uid, 1000u);
  EXPECT_EQ(r.gid, 1000u);
  EXPECT_THAT(r.groups, ElementsAre(1000u, 50u));
}

TEST_F(ResolveCredentialsTest, NumericIdsWithoutEntriesNeedNoFiles) {
  std::filesystem::remove(Path("passwd"));
  std::filesystem::remove(Path("group"));
  Status s;
  SpawnRequest r = Resolve("4321", "4322", &s);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.uid, 4321u);
  EXPECT_EQ(r.gid, 4322u);
  EXPECT_TRUE(r.groups.empty());  // cleared: no supplementary groups
}

TEST_F(ResolveCredentialsTest, UnknownNamesAreErrorsNamingTheFile) {
  Status s;
  Resolve("ghost", "", &s);
  EXPECT_EQ(s.message(), "no such user 'ghost' in " + Path("passwd"));
  Resolve("app", "ghosts", &s);
  EXPECT_EQ(s.message(), "no such group 'ghosts' in " + Path("group"));
}

}  // namespace
}  // namespace vigil
