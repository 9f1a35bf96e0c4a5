// The tini and dumb-init command lines (compat_cli.h): which tool a name selects, each flag and
// variable and what it maps to, getopt's rules (permutation, clusters, long abbreviations) and
// the tools' messages and exit codes.
#include "agent/config/compat_cli.h"

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using AfterMainExit = SingleCommandOptions::AfterMainExit;

// ---- Selecting the tool ---------------------------------------------------------------------

TEST(CompatToolTest, NamesSelectTheTool) {
  EXPECT_EQ(CompatToolForProgram("tini"), CompatTool::kTini);
  EXPECT_EQ(CompatToolForProgram("/sbin/tini"), CompatTool::kTini);
  EXPECT_EQ(CompatToolForProgram("/usr/bin/tini-static"), CompatTool::kTini);
  EXPECT_EQ(CompatToolForProgram("tini-static-amd64"), CompatTool::kTini);
  EXPECT_EQ(CompatToolForProgram("tini-arm64"), CompatTool::kTini);
  EXPECT_EQ(CompatToolForProgram("dumb-init"), CompatTool::kDumbInit);
  EXPECT_EQ(CompatToolForProgram("/usr/local/bin/dumb-init"), CompatTool::kDumbInit);
  EXPECT_EQ(CompatToolForProgram("dumb-init_1.2.5_x86_64"), CompatTool::kDumbInit);
}

TEST(CompatToolTest, OtherNamesAreVigil) {
  for (const char* name : {"vigil", "/opt/vigil/bin/vigil", "tinit", "tini-", "mytini", "dumb",
                           "dumb-initx", "", "/usr/bin/", "tini/vigil"}) {
    EXPECT_EQ(CompatToolForProgram(name), CompatTool::kNone) << name;
  }
}

TEST(CompatToolTest, CompatFlagSelectsAndIsRemoved) {
  std::vector<std::string> args = {"vigil", "--compat", "tini", "-g", "--", "app"};
  auto tool = SelectCompatTool(&args);
  ASSERT_TRUE(tool.ok()) << tool.status().message();
  EXPECT_EQ(*tool, CompatTool::kTini);
  EXPECT_THAT(args, ElementsAre("vigil", "-g", "--", "app"));

  args = {"vigil", "--compat=dumb-init", "-c", "app"};
  tool = SelectCompatTool(&args);
  ASSERT_TRUE(tool.ok());
  EXPECT_EQ(*tool, CompatTool::kDumbInit);
  EXPECT_THAT(args, ElementsAre("vigil", "-c", "app"));
}

TEST(CompatToolTest, VigilsOwnCommandLineIsLeftAlone) {
  std::vector<std::string> args = {"vigil", "-c", "pools.yaml"};
  auto tool = SelectCompatTool(&args);
  ASSERT_TRUE(tool.ok());
  EXPECT_EQ(*tool, CompatTool::kNone);
  EXPECT_THAT(args, ElementsAre("vigil", "-c", "pools.yaml"));
  // --compat counts only as the first argument.
  args = {"vigil", "-v", "--compat", "tini", "app"};
  tool = SelectCompatTool(&args);
  ASSERT_TRUE(tool.ok());
  EXPECT_EQ(*tool, CompatTool::kNone);
  EXPECT_EQ(args.size(), 5u);
}

TEST(CompatToolTest, BadCompatValuesAreNamed) {
  std::vector<std::string> args = {"vigil", "--compat", "s6"};
  auto tool = SelectCompatTool(&args);
  ASSERT_FALSE(tool.ok());
  EXPECT_THAT(tool.status().message(), HasSubstr("--compat: unknown tool 's6'"));
  args = {"vigil", "--compat"};
  tool = SelectCompatTool(&args);
  ASSERT_FALSE(tool.ok());
  EXPECT_THAT(tool.status().message(), HasSubstr("--compat needs a value"));
  args = {"vigil", "--compat="};
  EXPECT_FALSE(SelectCompatTool(&args).ok());
}

// ---- Parsing --------------------------------------------------------------------------------

class CompatCliTest : public ::testing::Test {
 protected:
  CompatCommand Parse(CompatTool tool, std::vector<std::string> args) {
    args.insert(args.begin(), tool == CompatTool::kTini ? "tini" : "dumb-init");
    return ParseCompatCommandLine(
        tool, args,
        [this](const char* name) -> const char* {
          auto it = env_.find(name);
          return it == env_.end() ? nullptr : it->second.c_str();
        },
        "9.9.9");
  }
  CliOptions Run(CompatTool tool, std::vector<std::string> args) {
    CompatCommand c = Parse(tool, args);
    EXPECT_TRUE(c.run) << "exit " << c.exit_code << ": " << c.err;
    EXPECT_THAT(c.out, IsEmpty());
    EXPECT_THAT(c.err, IsEmpty());
    return c.options;
  }
  CompatCommand Fails(CompatTool tool, std::vector<std::string> args) {
    CompatCommand c = Parse(tool, args);
    EXPECT_FALSE(c.run);
    EXPECT_EQ(c.exit_code, 1);
    EXPECT_THAT(c.out, IsEmpty());
    return c;
  }
  CliOptions Tini(std::vector<std::string> args) { return Run(CompatTool::kTini, args); }
  CliOptions DumbInit(std::vector<std::string> args) { return Run(CompatTool::kDumbInit, args); }

  std::map<std::string, std::string> env_;
};

// ---- tini -----------------------------------------------------------------------------------

TEST_F(CompatCliTest, TiniDefaults) {
  CliOptions o = Tini({"--", "app", "-x"});
  EXPECT_EQ(o.mode, CliOptions::Mode::kSingle);
  EXPECT_THAT(o.single.command, ElementsAre("app", "-x"));
  EXPECT_FALSE(o.single.signal_process_group);
  EXPECT_FALSE(o.single.new_session);
  EXPECT_FALSE(o.single.warn_on_reap);
  EXPECT_TRUE(o.single.success_codes.none());
  EXPECT_EQ(o.single.after_main_exit, AfterMainExit::kExitNow);
  EXPECT_TRUE(o.single.inherit_signal_state);
  EXPECT_FALSE(o.single.stop_self_on_job_control);
  EXPECT_EQ(o.parent_death_signal, 0);
  EXPECT_FALSE(o.chdir_root_after_start);
  EXPECT_FALSE(
      o.forward_fault_signals);  // As Vigil: a fault signal sent to tini is not its child's.
  EXPECT_EQ(o.log_level, log::Level::kWarn);  // tini's verbosity 1: warnings.
  // tini neither forwards the terminal's background stops nor is stopped by them.
  EXPECT_EQ(o.single.rewrite.Apply(SIGTTIN), 0);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTTOU), 0);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTSTP), SIGTSTP);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGTERM);
}

TEST_F(CompatCliTest, TiniFlags) {
  CliOptions o = Tini({"-s", "-g", "-w", "-p", "SIGUSR1", "-e", "143", "-e", "3", "--", "app"});
  EXPECT_TRUE(o.single.signal_process_group);
  EXPECT_TRUE(o.single.warn_on_reap);
  EXPECT_EQ(o.parent_death_signal, SIGUSR1);
  EXPECT_TRUE(o.single.success_codes.test(143));
  EXPECT_TRUE(o.single.success_codes.test(3));
  EXPECT_EQ(o.single.success_codes.count(), 2u);
}

TEST_F(CompatCliTest, TiniClustersAndAttachedValues) {
  CliOptions o = Tini({"-gsw", "-pSIGKILL", "-e0", "-ve255", "--", "app"});
  EXPECT_TRUE(o.single.signal_process_group);
  EXPECT_TRUE(o.single.warn_on_reap);
  EXPECT_EQ(o.parent_death_signal, SIGKILL);
  EXPECT_TRUE(o.single.success_codes.test(0));
  EXPECT_TRUE(o.single.success_codes.test(255));
  EXPECT_EQ(o.log_level, log::Level::kInfo);
}

TEST_F(CompatCliTest, TiniVerbosityLevels) {
  EXPECT_EQ(Tini({"app"}).log_level, log::Level::kWarn);
  EXPECT_EQ(Tini({"-v", "app"}).log_level, log::Level::kInfo);
  EXPECT_EQ(Tini({"-vv", "app"}).log_level, log::Level::kDebug);
  EXPECT_EQ(Tini({"-vvv", "app"}).log_level, log::Level::kTrace);
  EXPECT_EQ(Tini({"-v", "-v", "-v", "-v", "app"}).log_level, log::Level::kTrace);
  env_["TINI_VERBOSITY"] = "0";
  EXPECT_EQ(Tini({"app"}).log_level, log::Level::kError);
  EXPECT_EQ(Tini({"-vvv", "app"}).log_level, log::Level::kError);  // The variable wins.
  env_["TINI_VERBOSITY"] = "2";
  EXPECT_EQ(Tini({"app"}).log_level, log::Level::kInfo);
  env_["TINI_VERBOSITY"] = "junk";  // atoi: 0.
  EXPECT_EQ(Tini({"app"}).log_level, log::Level::kError);
  env_["TINI_VERBOSITY"] = "-1";  // tini's unsigned: as verbose as it gets.
  EXPECT_EQ(Tini({"app"}).log_level, log::Level::kTrace);
}

TEST_F(CompatCliTest, TiniVariables) {
  env_["TINI_KILL_PROCESS_GROUP"] = "";  // Set at all means on, even empty or 0.
  EXPECT_TRUE(Tini({"app"}).single.signal_process_group);
  env_["TINI_KILL_PROCESS_GROUP"] = "0";
  EXPECT_TRUE(Tini({"app"}).single.signal_process_group);
  env_.clear();
  env_["TINI_SUBREAPER"] = "";
  CliOptions o = Tini({"app"});
  EXPECT_FALSE(o.single.signal_process_group);
  EXPECT_THAT(o.single.command, ElementsAre("app"));
}

TEST_F(CompatCliTest, TiniPermutesOptionsAfterTheCommandLikeGnuGetopt) {
  CliOptions o = Tini({"app", "-g", "arg"});
  EXPECT_THAT(o.single.command, ElementsAre("app", "arg"));
  EXPECT_TRUE(o.single.signal_process_group);
  o = Tini({"app", "--", "-g", "arg"});
  EXPECT_THAT(o.single.command, ElementsAre("app", "-g", "arg"));
  EXPECT_FALSE(o.single.signal_process_group);
  // So an option of the command's own is tini's error, as with tini.
  CompatCommand c = Fails(CompatTool::kTini, {"sh", "-c", "exit 3"});
  EXPECT_THAT(c.err, StartsWith("tini: invalid option -- 'c'\n"));
}

TEST_F(CompatCliTest, TiniStopsAtTheCommandWithPosixlyCorrect) {
  env_["POSIXLY_CORRECT"] = "1";
  CliOptions o = Tini({"-e", "3", "sh", "-c", "exit 3"});
  EXPECT_THAT(o.single.command, ElementsAre("sh", "-c", "exit 3"));
  EXPECT_TRUE(o.single.success_codes.test(3));
}

TEST_F(CompatCliTest, TiniLoneDashIsTheCommand) {
  EXPECT_THAT(Tini({"-", "x"}).single.command, ElementsAre("-", "x"));
}

TEST_F(CompatCliTest, TiniVersionOnlyAsTheSoleArgument) {
  CompatCommand c = Parse(CompatTool::kTini, {"--version"});
  EXPECT_FALSE(c.run);
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.out, "tini version 0.19.0 - vigil 9.9.9\n");
  EXPECT_THAT(c.err, IsEmpty());
  // Anywhere else getopt reads it as "-" "-" ...: an invalid option.
  c = Fails(CompatTool::kTini, {"--version", "app"});
  EXPECT_THAT(c.err, StartsWith("tini: invalid option -- '-'\n"));
}

TEST_F(CompatCliTest, TiniHelpAndLicenseGoToStdoutAndExitZero) {
  for (const char* flag : {"-h", "-l"}) {
    CompatCommand c = Parse(CompatTool::kTini, {flag});
    EXPECT_FALSE(c.run) << flag;
    EXPECT_EQ(c.exit_code, 0) << flag;
    EXPECT_THAT(c.err, IsEmpty()) << flag;
    EXPECT_FALSE(c.out.empty()) << flag;
  }
  CompatCommand help = Parse(CompatTool::kTini, {"-h", "--", "app"});
  EXPECT_THAT(help.out, HasSubstr("Usage: tini [OPTIONS] PROGRAM -- [ARGS] | --version"));
  for (const char* flag : {"-s", "-p SIGNAL", "-v", "-w", "-g", "-e EXIT_CODE", "-l", "--version",
                           "TINI_SUBREAPER", "TINI_VERBOSITY", "TINI_KILL_PROCESS_GROUP"}) {
    EXPECT_THAT(help.out, HasSubstr(flag));
  }
  EXPECT_THAT(Parse(CompatTool::kTini, {"-l"}).out, HasSubstr("tini"));
}

TEST_F(CompatCliTest, TiniOptionsAreTakenInOrder) {
  // -h before a bad option wins; a bad -p before -h is the error.
  EXPECT_EQ(Parse(CompatTool::kTini, {"-h", "-z"}).exit_code, 0);
  CompatCommand c = Fails(CompatTool::kTini, {"-p", "BAD", "-h", "app"});
  EXPECT_THAT(c.err, HasSubstr("-p"));
}

TEST_F(CompatCliTest, TiniNoCommandPrintsUsageToStderrAndExitsOne) {
  CompatCommand c = Fails(CompatTool::kTini, {});
  EXPECT_THAT(c.err, HasSubstr("Usage: tini"));
  c = Fails(CompatTool::kTini, {"-g", "--"});
  EXPECT_THAT(c.err, HasSubstr("Usage: tini"));
}

TEST_F(CompatCliTest, TiniUsageErrorsExitOneWithGetoptsMessage) {
  CompatCommand c = Fails(CompatTool::kTini, {"-z", "app"});
  EXPECT_THAT(c.err, StartsWith("tini: invalid option -- 'z'\ntini (Vigil 9.9.9"));
  c = Fails(CompatTool::kTini, {"-c", "app"});  // dumb-init's flag is not tini's.
  EXPECT_THAT(c.err, StartsWith("tini: invalid option -- 'c'\n"));
  c = Fails(CompatTool::kTini, {"app", "-p"});
  EXPECT_THAT(c.err, StartsWith("tini: option requires an argument -- 'p'\n"));
  c = Fails(CompatTool::kTini, {"-e"});
  EXPECT_THAT(c.err, StartsWith("tini: option requires an argument -- 'e'\n"));
  c = Fails(CompatTool::kTini, {"-:", "app"});
  EXPECT_THAT(c.err, StartsWith("tini: invalid option -- ':'\n"));
}

TEST_F(CompatCliTest, TiniParentDeathSignalTakesTinisNamesOnly) {
  EXPECT_EQ(Tini({"-p", "SIGTERM", "app"}).parent_death_signal, SIGTERM);
  EXPECT_EQ(Tini({"-p", "SIGHUP", "app"}).parent_death_signal, SIGHUP);
  EXPECT_EQ(Tini({"-p", "SIGWINCH", "app"}).parent_death_signal, SIGWINCH);
  EXPECT_EQ(Tini({"-p", "SIGSYS", "app"}).parent_death_signal, SIGSYS);
  for (const char* bad : {"TERM", "15", "sigterm", "SIGRTMIN", "SIGPWR", "", "SIGTERM "}) {
    CompatCommand c = Fails(CompatTool::kTini, {"-p", bad, "app"});
    EXPECT_THAT(c.err, HasSubstr("-p: not a valid signal")) << bad;
  }
}

TEST_F(CompatCliTest, TiniExitCodesFollowStrtol) {
  EXPECT_TRUE(Tini({"-e", "+7", "app"}).single.success_codes.test(7));
  EXPECT_TRUE(Tini({"-e", " 9", "app"}).single.success_codes.test(9));
  EXPECT_TRUE(Tini({"-e", "", "app"}).single.success_codes.test(0));  // strtol("") is 0.
  for (const char* bad : {"256", "-1", "1x", "x", "99999999999999999999", "3 "}) {
    CompatCommand c = Fails(CompatTool::kTini, {"-e", bad, "app"});
    EXPECT_THAT(c.err, HasSubstr("-e: not a valid exit code")) << bad;
  }
}

TEST_F(CompatCliTest, TiniKeepsVigilsStopOfLeftoversOnlyWhenAskedTo) {
  env_["VIGIL_KILL_GRACE"] = "3s";
  CliOptions o = Tini({"app"});
  EXPECT_EQ(o.single.after_main_exit, AfterMainExit::kStopLeftovers);
  EXPECT_EQ(o.single.kill_grace, 3s);
  env_["VIGIL_KILL_GRACE"] = "soon";
  CompatCommand c = Fails(CompatTool::kTini, {"app"});
  EXPECT_THAT(c.err, HasSubstr("VIGIL_KILL_GRACE"));
}

TEST_F(CompatCliTest, TiniIgnoresVigilsOwnVariables) {
  env_["VIGIL_PGROUP"] = "1";
  env_["VIGIL_LOG_LEVEL"] = "trace";
  env_["VIGIL_CONFIG"] = "/nonexistent.yaml";
  CliOptions o = Tini({"app"});
  EXPECT_FALSE(o.single.signal_process_group);
  EXPECT_EQ(o.log_level, log::Level::kWarn);
  EXPECT_EQ(o.mode, CliOptions::Mode::kSingle);
}

// ---- dumb-init ------------------------------------------------------------------------------

TEST_F(CompatCliTest, DumbInitDefaultsToANewSessionAndTheWholeGroup) {
  CliOptions o = DumbInit({"app", "-c", "x"});  // Options end at the command.
  EXPECT_THAT(o.single.command, ElementsAre("app", "-c", "x"));
  EXPECT_TRUE(o.single.new_session);
  EXPECT_TRUE(o.single.signal_process_group);
  EXPECT_EQ(o.single.after_main_exit, AfterMainExit::kTermGroupThenExit);
  EXPECT_TRUE(o.single.stop_self_on_job_control);
  EXPECT_FALSE(o.single.inherit_signal_state);
  EXPECT_TRUE(o.chdir_root_after_start);
  EXPECT_TRUE(o.forward_fault_signals);
  EXPECT_EQ(o.log_level, log::Level::kError);
  // The whole session stops on a job-control signal.
  EXPECT_EQ(o.single.rewrite.Apply(SIGTSTP), SIGSTOP);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTTIN), SIGSTOP);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTTOU), SIGSTOP);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGTERM);
}

TEST_F(CompatCliTest, DumbInitSingleChild) {
  for (const char* flag : {"-c", "--single-child", "--single", "--s"}) {
    CliOptions o = DumbInit({flag, "app"});
    EXPECT_FALSE(o.single.new_session) << flag;
    EXPECT_FALSE(o.single.signal_process_group) << flag;
    EXPECT_EQ(o.single.after_main_exit, AfterMainExit::kExitNow) << flag;
    EXPECT_TRUE(o.single.stop_self_on_job_control) << flag;
    // No session of its own: job-control signals go through as they are.
    EXPECT_EQ(o.single.rewrite.Apply(SIGTSTP), SIGTSTP) << flag;
  }
  env_["DUMB_INIT_SETSID"] = "0";
  EXPECT_FALSE(DumbInit({"app"}).single.new_session);
  for (const char* other : {"1", "", "false", "00"}) {
    env_["DUMB_INIT_SETSID"] = other;
    EXPECT_TRUE(DumbInit({"app"}).single.new_session) << other;
  }
}

TEST_F(CompatCliTest, DumbInitVerbose) {
  for (const char* flag : {"-v", "--verbose", "--verb"}) {
    EXPECT_EQ(DumbInit({flag, "app"}).log_level, log::Level::kDebug) << flag;
  }
  env_["DUMB_INIT_DEBUG"] = "1";
  EXPECT_EQ(DumbInit({"app"}).log_level, log::Level::kDebug);
  env_["DUMB_INIT_DEBUG"] = "0";
  EXPECT_EQ(DumbInit({"app"}).log_level, log::Level::kError);
  env_["DUMB_INIT_DEBUG"] = "true";  // dumb-init takes "1" only.
  EXPECT_EQ(DumbInit({"app"}).log_level, log::Level::kError);
}

TEST_F(CompatCliTest, DumbInitRewrites) {
  CliOptions o = DumbInit({"-r", "15:3", "--rewrite", "2:0", "--rewrite=1:31", "-r31:1", "app"});
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGQUIT);
  EXPECT_EQ(o.single.rewrite.Apply(SIGINT), 0);
  EXPECT_EQ(o.single.rewrite.Apply(1), 31);
  EXPECT_EQ(o.single.rewrite.Apply(31), 1);
  EXPECT_EQ(o.single.rewrite.Apply(SIGUSR1), SIGUSR1);
  // A later rule for the same signal wins; the defaults yield to given rules.
  o = DumbInit({"-r", "15:3", "-r", "15:10", "-r", "20:1", "app"});
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGUSR1);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTSTP), SIGHUP);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTTIN), SIGSTOP);
  // scanf's leniency: blanks and signs before numbers, anything after the second.
  o = DumbInit({"-r", " 15: +3junk", "app"});
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGQUIT);
}

TEST_F(CompatCliTest, DumbInitBadRewritesPrintItsUsageAndExitOne) {
  const std::string usage =
      "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.\n"
      "This option can be specified multiple times.\n"
      "Use --help for full usage.\n";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"-r", "app"},
           {"-r", "", "app"},
           {"-r", "herp", "app"},
           {"-r", "herp:derp", "app"},
           {"-r", "15", "app"},
           {"-r", "15::12", "app"},
           {"-r", "15:derp", "app"},
           {"-r", "15:12", "-r", "app"},
           {"-r", "15:12", "-r", "0", "app"},
           {"-r", "15:12", "-r", "1:32", "app"},
           {"-r", "0:1", "app"},
           {"-r", "32:1", "app"},
           {"-r", "1:-1", "app"},
           {"-r", "SIGTERM:SIGQUIT", "app"},
           {"-r", "15 :3", "app"},
       }) {
    CompatCommand c = Fails(CompatTool::kDumbInit, args);
    EXPECT_EQ(c.err, usage) << ::testing::PrintToString(args);
  }
}

TEST_F(CompatCliTest, DumbInitHelpAndVersionGoToStderrAndExitZero) {
  for (const char* flag : {"-h", "--help", "--he"}) {
    CompatCommand c = Parse(CompatTool::kDumbInit, {flag, "app"});
    EXPECT_FALSE(c.run);
    EXPECT_EQ(c.exit_code, 0);
    EXPECT_THAT(c.out, IsEmpty());
    EXPECT_THAT(c.err, StartsWith("dumb-init v1.2.5"));
    EXPECT_THAT(c.err, HasSubstr("Usage: dumb-init [option] command [[arg] ...]\n"));
    for (const char* name :
         {"--single-child", "--rewrite s:r", "--verbose", "--help", "--version"}) {
      EXPECT_THAT(c.err, HasSubstr(name));
    }
  }
  for (const char* flag : {"-V", "--version", "--vers"}) {
    CompatCommand c = Parse(CompatTool::kDumbInit, {flag});
    EXPECT_FALSE(c.run);
    EXPECT_EQ(c.exit_code, 0);
    EXPECT_THAT(c.out, IsEmpty());
    EXPECT_EQ(c.err, "dumb-init v1.2.5 (Vigil 9.9.9)\n");
  }
}

TEST_F(CompatCliTest, DumbInitNoCommand) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{}, {"-c"}, {"-v", "--"}}) {
    CompatCommand c = Fails(CompatTool::kDumbInit, args);
    EXPECT_EQ(c.err,
              "Usage: dumb-init [option] program [args]\n"
              "Try dumb-init --help for full usage.\n");
  }
}

TEST_F(CompatCliTest, DumbInitUsageErrorsUseGlibcsWords) {
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"--yolo", "/bin/true"}).err,
            "dumb-init: unrecognized option '--yolo'\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"--yolo=1", "/bin/true"}).err,
            "dumb-init: unrecognized option '--yolo=1'\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"-x", "app"}).err, "dumb-init: invalid option -- 'x'\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"-cx", "app"}).err, "dumb-init: invalid option -- 'x'\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"-r"}).err,
            "dumb-init: option requires an argument -- 'r'\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"--rewrite"}).err,
            "dumb-init: option '--rewrite' requires an argument\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"--single-child=1", "app"}).err,
            "dumb-init: option '--single-child' doesn't allow an argument\n");
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"--ver", "app"}).err,
            "dumb-init: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n");
  // tini's flags are not dumb-init's.
  EXPECT_EQ(Fails(CompatTool::kDumbInit, {"-g", "app"}).err, "dumb-init: invalid option -- 'g'\n");
}

TEST_F(CompatCliTest, DumbInitClustersAndTheDoubleDash) {
  CliOptions o = DumbInit({"-cvr15:3", "--", "-app"});
  EXPECT_FALSE(o.single.new_session);
  EXPECT_EQ(o.log_level, log::Level::kDebug);
  EXPECT_EQ(o.single.rewrite.Apply(SIGTERM), SIGQUIT);
  EXPECT_THAT(o.single.command, ElementsAre("-app"));
}

TEST_F(CompatCliTest, CompatFlagUsesTheGivenProgramNameInMessages) {
  std::vector<std::string> args = {"/opt/vigil/bin/vigil", "-z"};
  CompatCommand c = ParseCompatCommandLine(
      CompatTool::kTini, args, [](const char*) -> const char* { return nullptr; }, "1");
  EXPECT_THAT(c.err, StartsWith("/opt/vigil/bin/vigil: invalid option -- 'z'\n"));
  EXPECT_THAT(c.err, HasSubstr("Usage: vigil [OPTIONS]"));
}

}  // namespace
}  // namespace vigil
