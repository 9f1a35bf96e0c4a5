#include "agent/config/cli.h"

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CliTest : public ::testing::Test {
 protected:
  StatusOr<CliOptions> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "vigil");
    return ParseCommandLine(args, [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }
  CliOptions Ok(std::vector<std::string> args) {
    auto o = Parse(args);
    EXPECT_TRUE(o.ok()) << o.status().message();
    return o.ok() ? *o : CliOptions{};
  }
  std::string ErrorOf(std::vector<std::string> args) {
    auto o = Parse(args);
    EXPECT_FALSE(o.ok());
    return o.ok() ? "" : o.status().message();
  }

  std::map<std::string, std::string> env_;
};

TEST_F(CliTest, DefaultsWithJustACommand) {
  CliOptions o = Ok({"sleep", "10"});
  EXPECT_EQ(o.action, CliOptions::Action::kRun);
  EXPECT_THAT(o.single.command, ElementsAre("sleep", "10"));
  EXPECT_FALSE(o.single.signal_process_group);
  EXPECT_EQ(o.single.kill_grace, 5s);
  EXPECT_EQ(o.single.kill_wait, 2s);
  EXPECT_TRUE(o.single.success_codes.none());
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGTERM);
  EXPECT_EQ(o.log_level, log::Level::kWarn);
  EXPECT_EQ(o.log_format, log::Format::kText);
}

// ---- Every option of the usage text is accepted ----

struct UsageOption {
  std::string flag;         // "-g" or "--pgroup".
  std::string placeholder;  // "FROM:TO", "DUR", ... or "" for a switch.
};

// The options listed in UsageText(), read from the text itself so a new option that the parser
// does not know fails here.
std::vector<UsageOption> OptionsInUsage() {
  std::vector<UsageOption> out;
  std::istringstream in(UsageText());
  std::string line;
  const std::regex option_line(R"(^\s+(-[A-Za-z])?,?\s*(--[a-z-]+)?( [A-Z][A-Z:]*)?\s)");
  while (std::getline(in, line)) {
    if (line.rfind("Pool mode", 0) == 0) break;  // Pool options are checked separately below.
    std::smatch m;
    if (!std::regex_search(line, m, option_line)) continue;
    const std::string placeholder = m[3].matched ? m[3].str().substr(1) : "";
    if (m[1].matched) out.push_back({m[1].str(), placeholder});
    if (m[2].matched) out.push_back({m[2].str(), placeholder});
  }
  return out;
}

std::string SampleValue(const std::string& placeholder) {
  static const std::map<std::string, std::string> kSamples = {
      {"FROM:TO", "TERM:QUIT"}, {"CODE", "3"}, {"DUR", "1s"}, {"LEVEL", "debug"}, {"FMT", "json"}};
  auto it = kSamples.find(placeholder);
  return it == kSamples.end() ? "" : it->second;
}

TEST_F(CliTest, UsageTextListsTheExpectedOptions) {
  std::vector<std::string> flags;
  for (const auto& o : OptionsInUsage())
    flags.push_back(o.flag);
  EXPECT_THAT(flags, ElementsAre("-g", "--pgroup", "-r", "--rewrite", "-e", "--success-exit",
                                 "--kill-grace", "--log-level", "--log-format", "-v", "-s",
                                 "--subreaper", "-h", "--help", "-V", "--version"));
}

TEST_F(CliTest, CompatIsOnlyTakenAsTheFirstArgument) {
  // `vigil --compat TOOL` is dispatched before this parser (compat_cli.h); later it is an error
  // that says where it belongs.
  EXPECT_THAT(ErrorOf({"-g", "--compat", "tini", "cmd"}),
              HasSubstr("--compat must be the first argument"));
  EXPECT_THAT(UsageText(), HasSubstr("vigil --compat tini|dumb-init"));
}

TEST_F(CliTest, EveryOptionInTheUsageTextIsAccepted) {
  for (const auto& option : OptionsInUsage()) {
    SCOPED_TRACE(option.flag);
    std::vector<std::string> args = {option.flag};
    if (!option.placeholder.empty()) {
      const std::string value = SampleValue(option.placeholder);
      ASSERT_FALSE(value.empty()) << "no sample for placeholder " << option.placeholder;
      args.push_back(value);
    }
    args.push_back("cmd");
    auto o = Parse(args);
    EXPECT_TRUE(o.ok()) << o.status().message();
  }
}

// A valid value for every pool option that a flag may set.
std::string PoolSample(const std::string& key) {
  static const std::map<std::string, std::string> kSamples = {{"env", "A=1,B=2"},
                                                              {"working_dir", "/tmp"},
                                                              {"user", "root"},
                                                              {"group", "root"},
                                                              {"replicas", "2"},
                                                              {"restart", "on-failure"},
                                                              {"success_exit_codes", "0,143"},
                                                              {"no_restart_exit_codes", "3,4"},
                                                              {"stop_signal", "QUIT"},
                                                              {"fast_stop_signal", "INT"},
                                                              {"stop_timeout", "5s"},
                                                              {"readiness.mode", "notify"},
                                                              {"readiness.command", "true"},
                                                              {"readiness.host", "::1"},
                                                              {"readiness.port", "8080"},
                                                              {"readiness.path", "/healthz"},
                                                              {"readiness.period", "2s"},
                                                              {"readiness.timeout", "1s"},
                                                              {"readiness.failure_threshold", "2"},
                                                              {"boot_timeout", "30s"},
                                                              {"watchdog", "10s"},
                                                              {"backoff.initial", "0"},
                                                              {"backoff.max", "10s"},
                                                              {"backoff.multiplier", "1.5"},
                                                              {"backoff.jitter", "0.1"},
                                                              {"backoff.reset_after", "1m"},
                                                              {"crash_loop.max_restarts", "3"},
                                                              {"crash_loop.period", "30s"},
                                                              {"max_lifetime", "1h"},
                                                              {"max_lifetime_jitter", "5m"},
                                                              {"min_ready", "1"},
                                                              {"log_prefix", "true"},
                                                              {"rewrite", "USR1:HUP"},
                                                              {"ports", "8000,8443"}};
  auto it = kSamples.find(key);
  return it == kSamples.end() ? "" : it->second;
}

TEST_F(CliTest, UsageTextListsEveryPoolOptionWithItsVariable) {
  const std::string usage = UsageText();
  for (const PoolOption& option : PoolOptions()) {
    if (!option.overridable || std::string_view(option.key) == "rewrite") continue;
    SCOPED_TRACE(option.key);
    EXPECT_NE(usage.find(PoolOptionFlag(option)), std::string::npos);
    EXPECT_NE(usage.find(PoolOptionEnv(option)), std::string::npos);
  }
}

TEST_F(CliTest, EveryPoolFlagIsAcceptedInPoolMode) {
  for (const PoolOption& option : PoolOptions()) {
    if (!option.overridable) continue;
    SCOPED_TRACE(option.key);
    const std::string value = PoolSample(option.key);
    ASSERT_FALSE(value.empty()) << "no sample for " << option.key;
    auto o = Parse({"--replicas", "1", PoolOptionFlag(option), value, "--", "cmd"});
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_EQ(o->mode, CliOptions::Mode::kPools);
  }
}

TEST_F(CliTest, EveryLongOptionWithAValueAcceptsTheEqualsForm) {
  for (const auto& option : OptionsInUsage()) {
    if (option.flag.rfind("--", 0) != 0 || option.placeholder.empty()) continue;
    SCOPED_TRACE(option.flag);
    auto o = Parse({option.flag + "=" + SampleValue(option.placeholder), "cmd"});
    EXPECT_TRUE(o.ok()) << o.status().message();
  }
}

// ---- Each option's effect ----

TEST_F(CliTest, PgroupShortAndLong) {
  EXPECT_TRUE(Ok({"-g", "cmd"}).single.signal_process_group);
  EXPECT_TRUE(Ok({"--pgroup", "cmd"}).single.signal_process_group);
}

TEST_F(CliTest, SwitchesRejectAValue) {
  EXPECT_THAT(ErrorOf({"--pgroup=1", "cmd"}), HasSubstr("--pgroup takes no value"));
  EXPECT_THAT(ErrorOf({"--subreaper=yes", "cmd"}), HasSubstr("--subreaper takes no value"));
}

TEST_F(CliTest, SubreaperIsAcceptedAndChangesNothing) {
  CliOptions o = Ok({"-s", "--subreaper", "cmd"});
  EXPECT_THAT(o.single.command, ElementsAre("cmd"));
  EXPECT_FALSE(o.single.signal_process_group);
}

TEST_F(CliTest, RewriteShortLongAndRepeated) {
  CliOptions o = Ok({"-r", "TERM:QUIT", "--rewrite", "15:INT", "--rewrite=USR1:0", "cmd"});
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGINT);  // Later rule wins.
  EXPECT_EQ(o.single.rewrite.Apply(SIGUSR1), 0);
  EXPECT_EQ(o.single.rewrite.Apply(SIGHUP), SIGHUP);
}

TEST_F(CliTest, SuccessExitShortLongAliasAndRepeated) {
  CliOptions o = Ok({"-e", "3", "--success-exit", "143", "--remap-exit=7", "cmd"});
  EXPECT_TRUE(o.single.success_codes.test(3));
  EXPECT_TRUE(o.single.success_codes.test(143));
  EXPECT_TRUE(o.single.success_codes.test(7));
  EXPECT_EQ(o.single.success_codes.count(), 3u);
  EXPECT_TRUE(Ok({"-e", "0", "cmd"}).single.success_codes.test(0));
  EXPECT_TRUE(Ok({"-e", "255", "cmd"}).single.success_codes.test(255));
}

TEST_F(CliTest, KillGrace) {
  EXPECT_EQ(Ok({"--kill-grace", "10s", "cmd"}).single.kill_grace, 10s);
  EXPECT_EQ(Ok({"--kill-grace=1m30s", "cmd"}).single.kill_grace, 90s);
  EXPECT_EQ(Ok({"--kill-grace", "0", "cmd"}).single.kill_grace, 0s);
  EXPECT_EQ(Ok({"--kill-grace", "2.5", "cmd"}).single.kill_grace, 2500ms);
}

TEST_F(CliTest, LogLevelAndFormat) {
  CliOptions o = Ok({"--log-level", "debug", "--log-format=json", "cmd"});
  EXPECT_EQ(o.log_level, log::Level::kDebug);
  EXPECT_EQ(o.log_format, log::Format::kJson);
  o = Ok({"--log-level=off", "--log-format", "text", "cmd"});
  EXPECT_EQ(o.log_level, log::Level::kOff);
  EXPECT_EQ(o.log_format, log::Format::kText);
}

TEST_F(CliTest, VerbosityCountsVs) {
  EXPECT_EQ(Ok({"-v", "cmd"}).log_level, log::Level::kInfo);
  EXPECT_EQ(Ok({"-vv", "cmd"}).log_level, log::Level::kDebug);
  EXPECT_EQ(Ok({"-v", "-v", "cmd"}).log_level, log::Level::kDebug);
  EXPECT_EQ(Ok({"-vvv", "cmd"}).log_level, log::Level::kTrace);
  EXPECT_EQ(Ok({"-v", "-vv", "cmd"}).log_level, log::Level::kTrace);
  EXPECT_EQ(Ok({"-vv", "-vv", "cmd"}).log_level, log::Level::kTrace);  // Saturates.
}

TEST_F(CliTest, VerbosityOnlyEverMakesLoggingMoreVerbose) {
  EXPECT_EQ(Ok({"--log-level", "error", "-v", "cmd"}).log_level, log::Level::kInfo);
  EXPECT_EQ(Ok({"-v", "--log-level", "error", "cmd"}).log_level, log::Level::kInfo);
  EXPECT_EQ(Ok({"--log-level", "trace", "-v", "cmd"}).log_level, log::Level::kTrace);
}

TEST_F(CliTest, HelpAndVersionNeedNoCommand) {
  EXPECT_EQ(Ok({"-h"}).action, CliOptions::Action::kHelp);
  EXPECT_EQ(Ok({"--help"}).action, CliOptions::Action::kHelp);
  EXPECT_EQ(Ok({"-V"}).action, CliOptions::Action::kVersion);
  EXPECT_EQ(Ok({"--version"}).action, CliOptions::Action::kVersion);
  EXPECT_EQ(Ok({"-g", "--help", "cmd"}).action, CliOptions::Action::kHelp);
}

TEST_F(CliTest, UsageTextMentionsTheEnvironmentVariablesAndExitCodes) {
  const std::string usage = UsageText();
  for (const char* s : {"VIGIL_PGROUP", "VIGIL_KILL_GRACE", "VIGIL_LOG_LEVEL", "VIGIL_LOG_FORMAT",
                        "127", "126", "128+N"}) {
    EXPECT_THAT(usage, HasSubstr(s));
  }
}

// ---- Where the command starts ----

TEST_F(CliTest, CommandStartsAtTheFirstNonOption) {
  CliOptions o = Ok({"-g", "sh", "-c", "echo -g", "-r", "TERM:0"});
  EXPECT_THAT(o.single.command, ElementsAre("sh", "-c", "echo -g", "-r", "TERM:0"));
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGTERM);  // The command's -r is not ours.
}

TEST_F(CliTest, DoubleDashEndsOptions) {
  CliOptions o = Ok({"-g", "--", "-x", "--help"});
  EXPECT_TRUE(o.single.signal_process_group);
  EXPECT_EQ(o.action, CliOptions::Action::kRun);
  EXPECT_THAT(o.single.command, ElementsAre("-x", "--help"));
}

TEST_F(CliTest, OnlyTheFirstDoubleDashIsOurs) {
  EXPECT_THAT(Ok({"--", "--", "cmd"}).single.command, ElementsAre("--", "cmd"));
  EXPECT_THAT(Ok({"cmd", "--", "x"}).single.command, ElementsAre("cmd", "--", "x"));
}

TEST_F(CliTest, LoneDashIsACommand) {
  EXPECT_THAT(Ok({"-", "x"}).single.command, ElementsAre("-", "x"));
}

TEST_F(CliTest, ValueMayLookLikeAnOption) {
  // A value is taken verbatim, even when it starts with a dash.
  std::string msg = ErrorOf({"--log-level", "-v", "cmd"});
  EXPECT_THAT(msg, HasSubstr("--log-level"));
  EXPECT_THAT(msg, HasSubstr("'-v'"));
}

// ---- Errors name the flag ----

TEST_F(CliTest, NoCommandIsAnError) {
  EXPECT_THAT(ErrorOf({}), HasSubstr("no command"));
  EXPECT_THAT(ErrorOf({"-g"}), HasSubstr("no command"));
  EXPECT_THAT(ErrorOf({"--"}), HasSubstr("no command"));
  EXPECT_THAT(ErrorOf({"-g", "--"}), HasSubstr("no command"));
}

TEST_F(CliTest, UnknownOptionsAreNamed) {
  for (const char* flag :
       {"--nope", "-x", "-vvvv", "-gv", "--pgroupx", "---", "-G", "--PGROUP", "-g=1"}) {
    std::string msg = ErrorOf({flag, "cmd"});
    EXPECT_THAT(msg, HasSubstr(std::string("unknown option '") + flag + "'")) << flag;
  }
}

TEST_F(CliTest, MissingValuesNameTheFlag) {
  for (const char* flag : {"-r", "--rewrite", "-e", "--success-exit", "--remap-exit",
                           "--kill-grace", "--log-level", "--log-format"}) {
    EXPECT_THAT(ErrorOf({flag}), HasSubstr(std::string(flag) + " needs a value")) << flag;
  }
}

TEST_F(CliTest, BadRewriteNamesTheFlagAndRule) {
  std::string msg = ErrorOf({"-r", "TERM:NOPE", "cmd"});
  EXPECT_THAT(msg, HasSubstr("-r"));
  EXPECT_THAT(msg, HasSubstr("'TERM:NOPE'"));
  EXPECT_THAT(ErrorOf({"--rewrite=TERM", "cmd"}), HasSubstr("--rewrite: invalid rewrite 'TERM'"));
}

TEST_F(CliTest, BadExitCodesNameTheFlagAndValue) {
  for (const char* value : {"256", "-1", "x", "", "3x", "1.0", "99999999999"}) {
    std::string msg = ErrorOf({"-e", value, "cmd"});
    EXPECT_THAT(msg, HasSubstr("-e: invalid exit code '" + std::string(value) + "'")) << value;
  }
  EXPECT_THAT(ErrorOf({"--success-exit=300", "cmd"}), HasSubstr("--success-exit"));
}

TEST_F(CliTest, BadDurationNamesTheFlagAndValue) {
  std::string msg = ErrorOf({"--kill-grace", "5x", "cmd"});
  EXPECT_THAT(msg, HasSubstr("--kill-grace"));
  EXPECT_THAT(msg, HasSubstr("'5x'"));
  EXPECT_THAT(ErrorOf({"--kill-grace=-1s", "cmd"}), HasSubstr("--kill-grace"));
  EXPECT_THAT(ErrorOf({"--kill-grace=", "cmd"}), HasSubstr("--kill-grace"));
}

TEST_F(CliTest, BadLogLevelAndFormatNameTheFlagAndValue) {
  std::string msg = ErrorOf({"--log-level", "loud", "cmd"});
  EXPECT_THAT(msg, HasSubstr("--log-level"));
  EXPECT_THAT(msg, HasSubstr("'loud'"));
  msg = ErrorOf({"--log-format=yaml", "cmd"});
  EXPECT_THAT(msg, HasSubstr("--log-format"));
  EXPECT_THAT(msg, HasSubstr("'yaml'"));
}

// ---- Environment ----

TEST_F(CliTest, EnvPgroup) {
  for (const char* yes : {"1", "true", "yes", "on"}) {
    env_["VIGIL_PGROUP"] = yes;
    EXPECT_TRUE(Ok({"cmd"}).single.signal_process_group) << yes;
  }
  for (const char* no : {"0", "false", "no", "off"}) {
    env_["VIGIL_PGROUP"] = no;
    EXPECT_FALSE(Ok({"cmd"}).single.signal_process_group) << no;
  }
}

TEST_F(CliTest, EnvKillGraceLogLevelLogFormat) {
  env_["VIGIL_KILL_GRACE"] = "30s";
  env_["VIGIL_LOG_LEVEL"] = "info";
  env_["VIGIL_LOG_FORMAT"] = "json";
  CliOptions o = Ok({"cmd"});
  EXPECT_EQ(o.single.kill_grace, 30s);
  EXPECT_EQ(o.log_level, log::Level::kInfo);
  EXPECT_EQ(o.log_format, log::Format::kJson);
}

TEST_F(CliTest, FlagsWinOverEnvironment) {
  env_["VIGIL_PGROUP"] = "0";
  env_["VIGIL_KILL_GRACE"] = "30s";
  env_["VIGIL_LOG_LEVEL"] = "error";
  env_["VIGIL_LOG_FORMAT"] = "json";
  CliOptions o =
      Ok({"-g", "--kill-grace", "1s", "--log-level", "debug", "--log-format", "text", "cmd"});
  EXPECT_TRUE(o.single.signal_process_group);
  EXPECT_EQ(o.single.kill_grace, 1s);
  EXPECT_EQ(o.log_level, log::Level::kDebug);
  EXPECT_EQ(o.log_format, log::Format::kText);
}

TEST_F(CliTest, VerbosityFlagWinsOverQuieterEnvironment) {
  env_["VIGIL_LOG_LEVEL"] = "off";
  EXPECT_EQ(Ok({"-vv", "cmd"}).log_level, log::Level::kDebug);
}

TEST_F(CliTest, BadEnvironmentValuesNameTheVariableAndValue) {
  const std::map<std::string, std::string> bad = {{"VIGIL_PGROUP", "maybe"},
                                                  {"VIGIL_KILL_GRACE", "soon"},
                                                  {"VIGIL_LOG_LEVEL", "loud"},
                                                  {"VIGIL_LOG_FORMAT", "xml"}};
  for (const auto& [name, value] : bad) {
    env_ = {{name, value}};
    std::string msg = ErrorOf({"cmd"});
    EXPECT_THAT(msg, HasSubstr(name)) << name;
    EXPECT_THAT(msg, HasSubstr("'" + value + "'")) << name;
  }
}

TEST_F(CliTest, UnrelatedEnvironmentIsIgnored) {
  env_["VIGIL_SOMETHING_ELSE"] = "garbage";
  env_["PGROUP"] = "1";
  EXPECT_FALSE(Ok({"cmd"}).single.signal_process_group);
}

// ---- Single-command mode versus pools ----

TEST_F(CliTest, PlainCommandIsSingleCommandMode) {
  CliOptions o = Ok({"cmd"});
  EXPECT_EQ(o.mode, CliOptions::Mode::kSingle);
  EXPECT_EQ(o.pool_name, "main");
  EXPECT_TRUE(o.pool_flags.empty());
}

TEST_F(CliTest, ConfigFileSelectsPoolsAndNeedsNoCommand) {
  CliOptions o = Ok({"-c", "/etc/vigil.yaml"});
  EXPECT_EQ(o.mode, CliOptions::Mode::kPools);
  EXPECT_EQ(o.config_path, "/etc/vigil.yaml");
  EXPECT_EQ(Ok({"--config=/x.yaml"}).config_path, "/x.yaml");
  env_["VIGIL_CONFIG"] = "/env.yaml";
  o = Ok({});
  EXPECT_EQ(o.mode, CliOptions::Mode::kPools);
  EXPECT_EQ(o.config_path, "/env.yaml");
  EXPECT_EQ(Ok({"--config", "/flag.yaml"}).config_path, "/flag.yaml");  // Flag over env.
}

TEST_F(CliTest, CommandAfterAConfigFileIsRejected) {
  EXPECT_THAT(ErrorOf({"--config", "/x.yaml", "cmd"}), HasSubstr("--config"));
}

TEST_F(CliTest, ReplicasSelectsPoolsForTheCommand) {
  CliOptions o = Ok({"--replicas", "3", "--name", "web", "--", "app", "-x"});
  EXPECT_EQ(o.mode, CliOptions::Mode::kPools);
  EXPECT_EQ(o.pool_name, "web");
  EXPECT_THAT(o.single.command, ElementsAre("app", "-x"));
  ASSERT_EQ(o.pool_flags.size(), 1u);
  EXPECT_STREQ(o.pool_flags[0].first->key, "replicas");
  EXPECT_EQ(o.pool_flags[0].second, "3");
}

TEST_F(CliTest, ReplicasFromTheEnvironmentSelectsPools) {
  env_["VIGIL_REPLICAS"] = "2";
  EXPECT_EQ(Ok({"app"}).mode, CliOptions::Mode::kPools);
}

TEST_F(CliTest, PoolsWithoutACommandOrConfigAreRejected) {
  EXPECT_THAT(ErrorOf({"--replicas", "2"}), HasSubstr("no command"));
}

TEST_F(CliTest, PoolFlagsKeepTheirOrderAndALoneBooleanMeansTrue) {
  CliOptions o = Ok({"--replicas=2", "--log-prefix", "--backoff-initial", "1s", "app"});
  ASSERT_EQ(o.pool_flags.size(), 3u);
  EXPECT_STREQ(o.pool_flags[1].first->key, "log_prefix");
  EXPECT_EQ(o.pool_flags[1].second, "true");
  EXPECT_STREQ(o.pool_flags[2].first->key, "backoff.initial");
  EXPECT_EQ(o.pool_flags[2].second, "1s");
}

TEST_F(CliTest, SingleCommandOnlyFlagsAreRejectedWithPoolsNamingTheFirst) {
  EXPECT_THAT(ErrorOf({"-g", "--kill-grace", "1s", "--replicas", "2", "app"}),
              HasSubstr("-g applies to single-command mode only"));
  EXPECT_THAT(ErrorOf({"--kill-grace", "1s", "-c", "/x.yaml"}), HasSubstr("--kill-grace"));
  EXPECT_THAT(ErrorOf({"-e", "3", "--replicas", "2", "app"}), HasSubstr("-e"));
}

TEST_F(CliTest, PoolFlagWithoutPoolsIsRejectedNamingIt) {
  std::string msg = ErrorOf({"--backoff-initial", "1s", "app"});
  EXPECT_THAT(msg, HasSubstr("--backoff-initial"));
  EXPECT_THAT(msg, HasSubstr("--replicas"));
}

TEST_F(CliTest, PoolIdentityIsNotAnOverridableFlag) {
  // The name and command identify a pool: not settable as pool flags.
  EXPECT_THAT(ErrorOf({"--command", "x", "app"}), HasSubstr("unknown option '--command'"));
}

}  // namespace
}  // namespace vigil
