// control.metrics_address: the Prometheus listener of vigil-control, from the YAML file,
// VIGIL_METRICS_ADDRESS and --metrics-address (flag > env > file > default), normalised to
// HOST:PORT or empty (off), bad values named, and a port clash with another control listener
// refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "agent/config/agent_options.h"
#include "agent/config/cli.h"
#include "agent/config/config_loader.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;

class MetricsAddressTest : public ::testing::Test {
 protected:
  StatusOr<Config> Load(const std::string& control_yaml, std::vector<std::string> args = {}) {
    files_["vigil.yaml"] =
        "pools:\n"
        "  - name: web\n"
        "    command: [app]\n" +
        control_yaml;
    args.insert(args.begin(), {"vigil", "--config", "vigil.yaml"});
    EnvLookup env = [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    FileReader reader = [this](const std::string& path) -> StatusOr<std::string> {
      auto it = files_.find(path);
      if (it == files_.end()) return Status::Error("cannot read config file '" + path + "'");
      return it->second;
    };
    auto cli = ParseCommandLine(args, env);
    if (!cli.ok()) return cli.status();
    return LoadConfig(*cli, env, reader);
  }
  std::string AddressOk(const std::string& yaml, std::vector<std::string> args = {}) {
    auto c = Load(yaml, std::move(args));
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? c->control.metrics_address : "<error>";
  }
  std::string Error(const std::string& yaml, std::vector<std::string> args = {}) {
    auto c = Load(yaml, std::move(args));
    EXPECT_FALSE(c.ok()) << "loaded, metrics_address " << c->control.metrics_address;
    return c.ok() ? "" : c.status().message();
  }
  std::string Yaml(const std::string& value) {
    return "control:\n  metrics_address: \"" + value + "\"\n";
  }

  std::map<std::string, std::string> env_;
  std::map<std::string, std::string> files_;
};

// The setter alone, as the file, the environment and the flags all call it.
StatusOr<std::string> Set(const std::string& value) {
  const AgentOption* option = FindAgentOption("control.metrics_address");
  if (option == nullptr) return Status::Error("no option");
  Config c;
  Status s = option->set(&c, value);
  if (!s.ok()) return s;
  return c.control.metrics_address;
}

TEST(MetricsAddressOptionTest, IsOneOptionWithItsFlagAndVariable) {
  const AgentOption* option = FindAgentOption("control.metrics_address");
  ASSERT_NE(option, nullptr);
  EXPECT_STREQ(option->flag, "--metrics-address");
  EXPECT_STREQ(option->env, "VIGIL_METRICS_ADDRESS");
  EXPECT_FALSE(option->is_bool);
  EXPECT_EQ(FindAgentOptionByFlag("--metrics-address"), option);
}

TEST(MetricsAddressOptionTest, DefaultIsAllAddressesPort9180) {
  EXPECT_EQ(Config{}.control.metrics_address, "0.0.0.0:9180");
}

TEST(MetricsAddressOptionTest, AnEmptyHostMeansAllAddresses) {
  EXPECT_EQ(*Set(":9100"), "0.0.0.0:9100");
}

TEST(MetricsAddressOptionTest, NumericIpv4HostsAreKept) {
  for (const char* good : {"127.0.0.1:9100", "0.0.0.0:1", "10.1.2.3:65535"}) {
    auto v = Set(good);
    ASSERT_TRUE(v.ok()) << good << ": " << v.status().message();
    EXPECT_EQ(*v, good);
  }
}

// IPv4 only (Debian's civetweb has no IPv6): an IPv6 address is refused at start-up.
TEST(MetricsAddressOptionTest, Ipv6AddressesAreRefused) {
  for (const char* bad : {"[::1]:9100", "[::]:9100", "::1:9100"}) {
    auto v = Set(bad);
    ASSERT_FALSE(v.ok()) << bad << " gave " << *v;
    EXPECT_THAT(v.status().message(), HasSubstr("IPv4")) << bad;
  }
}

TEST(MetricsAddressOptionTest, OffTurnsItOff) {
  for (const char* off : {"off", "", "false", "0"}) {
    auto v = Set(off);
    ASSERT_TRUE(v.ok()) << off << ": " << v.status().message();
    EXPECT_EQ(*v, "") << off;
  }
}

TEST(MetricsAddressOptionTest, WithoutAColonIsAnErrorNamingTheValue) {
  auto v = Set("abc");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("HOST:PORT"));
  EXPECT_THAT(v.status().message(), HasSubstr("'abc'"));
  EXPECT_FALSE(Set("9100").ok());
}

TEST(MetricsAddressOptionTest, PortOutOfRangeIsAnErrorNamingThePort) {
  for (const char* bad :
       {"1.2.3.4:0", "host:99999", ":65536", ":-1", "1.2.3.4:", ":http", ":91x", ": 80"}) {
    auto v = Set(bad);
    ASSERT_FALSE(v.ok()) << bad << " gave " << *v;
    EXPECT_THAT(v.status().message(), HasSubstr("port must be 1..65535")) << bad;
    EXPECT_THAT(v.status().message(), HasSubstr(std::string("'") + bad + "'"));
  }
}

TEST(MetricsAddressOptionTest, AHostNameIsAnErrorNamingTheHost) {
  for (const char* bad : {"name:80", "localhost:9100", "my-host.example:9100"}) {
    auto v = Set(bad);
    ASSERT_FALSE(v.ok()) << bad << " gave " << *v;
    EXPECT_THAT(v.status().message(), HasSubstr("host must be a numeric IPv4 address")) << bad;
  }
}

// Regression test: the host check once accepted any hex digit (for IPv6), so host names made
// only of the letters a-f ("abc", "cafe") passed as numeric addresses.
TEST(MetricsAddressOptionTest, AHostNameOfHexLettersIsAnErrorToo) {
  for (const char* bad : {"abc:80", "cafe:9100", "dead.beef:9100"}) {
    auto v = Set(bad);
    EXPECT_FALSE(v.ok()) << bad << " accepted as " << (v.ok() ? *v : "");
  }
}

// ---------------------------------------------------------------------------------------------
// Through the loader: file, environment, flag
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsAddressTest, DefaultWhenNotSet) {
  EXPECT_EQ(AddressOk(""), "0.0.0.0:9180");
}

TEST_F(MetricsAddressTest, FromTheFile) {
  EXPECT_EQ(AddressOk(Yaml(":9100")), "0.0.0.0:9100");
  EXPECT_EQ(AddressOk(Yaml("127.0.0.1:9200")), "127.0.0.1:9200");
  EXPECT_EQ(AddressOk("control:\n  metrics_address: off\n"), "");
}

TEST_F(MetricsAddressTest, FromTheEnvironment) {
  env_["VIGIL_METRICS_ADDRESS"] = ":9100";
  EXPECT_EQ(AddressOk(""), "0.0.0.0:9100");
  env_["VIGIL_METRICS_ADDRESS"] = "off";
  EXPECT_EQ(AddressOk(""), "");
}

TEST_F(MetricsAddressTest, FromTheFlag) {
  EXPECT_EQ(AddressOk("", {"--metrics-address", ":9100"}), "0.0.0.0:9100");
  EXPECT_EQ(AddressOk("", {"--metrics-address=off"}), "");
}

TEST_F(MetricsAddressTest, FlagBeatsEnvironmentBeatsFile) {
  const std::string file = Yaml(":9001");
  EXPECT_EQ(AddressOk(file), "0.0.0.0:9001");
  env_["VIGIL_METRICS_ADDRESS"] = ":9002";
  EXPECT_EQ(AddressOk(file), "0.0.0.0:9002");
  EXPECT_EQ(AddressOk(file, {"--metrics-address", ":9003"}), "0.0.0.0:9003");
}

TEST_F(MetricsAddressTest, ABadValueInTheFileNamesTheFileLineAndKey) {
  const std::string e = Error(Yaml("1.2.3.4:0"));
  EXPECT_THAT(e, HasSubstr("vigil.yaml:5"));
  EXPECT_THAT(e, HasSubstr("control.metrics_address"));
  EXPECT_THAT(e, HasSubstr("'1.2.3.4:0'"));
}

TEST_F(MetricsAddressTest, ABadValueInTheEnvironmentNamesTheVariable) {
  env_["VIGIL_METRICS_ADDRESS"] = "host:99999";
  const std::string e = Error("");
  EXPECT_THAT(e, HasSubstr("VIGIL_METRICS_ADDRESS"));
  EXPECT_THAT(e, HasSubstr("'host:99999'"));
}

TEST_F(MetricsAddressTest, ABadFlagNamesTheFlag) {
  const std::string e = Error("", {"--metrics-address", "name:80"});
  EXPECT_THAT(e, HasSubstr("--metrics-address"));
  EXPECT_THAT(e, HasSubstr("numeric"));
}

TEST_F(MetricsAddressTest, APortClashWithTheHealthPortIsAnError) {
  const std::string e =
      Error("control:\n  health_port: 9100\n  metrics_address: \"127.0.0.1:9100\"\n");
  EXPECT_THAT(e, HasSubstr("vigil.yaml"));
  EXPECT_THAT(e, HasSubstr("control.metrics_address port 9100"));
  EXPECT_THAT(e, HasSubstr("already used"));
}

TEST_F(MetricsAddressTest, TheDefaultAddressClashesWithAHealthPortOf9180) {
  EXPECT_THAT(Error("control:\n  health_port: 9180\n"), HasSubstr("port 9180"));
}

TEST_F(MetricsAddressTest, APortClashWithTheHttpPortIsAnError) {
  EXPECT_THAT(Error("control:\n  http_port: 8080\n  metrics_address: \":8080\"\n"),
              HasSubstr("port 8080"));
}

TEST_F(MetricsAddressTest, AClashFromTheFlagIsCaughtToo) {
  EXPECT_THAT(Error("control:\n  health_port: 9100\n", {"--metrics-address", ":9100"}),
              HasSubstr("port 9100"));
}

TEST_F(MetricsAddressTest, OffNeverClashes) {
  EXPECT_EQ(AddressOk("control:\n  health_port: 9180\n  metrics_address: off\n"), "");
}

TEST_F(MetricsAddressTest, DifferentPortsDoNotClash) {
  EXPECT_EQ(AddressOk("control:\n  health_port: 9100\n  metrics_address: \":9101\"\n"),
            "0.0.0.0:9101");
}

// BUG (agent/config/agent_options.cc MetricsAddress + config_loader.cc ValidateConfig): the
// port is kept as written, so ":09100" is stored as "0.0.0.0:09100" and the clash check, which
// compares the text after the last ':' with std::to_string(health_port), misses that 09100 is
// port 9100. Normalise the port (store std::to_string(port)) in MetricsAddress.
TEST_F(MetricsAddressTest, ALeadingZeroPortIsNormalisedAndStillClashes) {
  EXPECT_EQ(AddressOk(Yaml(":09100")), "0.0.0.0:9100");
  EXPECT_THAT(Error("control:\n  health_port: 9100\n  metrics_address: \":09100\"\n"),
              HasSubstr("port 9100"));
}

}  // namespace
}  // namespace vigil
