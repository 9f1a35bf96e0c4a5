// The YAML half of LoadConfig: walks the document by hand (rather than mapping it onto structs)
// so that every unknown key, wrong type and bad value is reported with its line.
#include <yaml-cpp/yaml.h>

#include <set>

#include "agent/base/duration.h"
#include "agent/base/quote.h"
#include "agent/config/agent_options.h"
#include "agent/config/config_loader.h"
#include "agent/config/pool_options.h"

namespace vigil {
namespace {

class YamlError {
 public:
  explicit YamlError(std::string source) : source_(std::move(source)) {}
  std::string Location(const YAML::Node& node) const {
    return source_ + ":" + std::to_string(node.Mark().line + 1);
  }
  Status At(const YAML::Node& node, const std::string& where, const std::string& what) const {
    return Status::Error(source_ + ":" + std::to_string(node.Mark().line + 1) + ": " + where +
                         ": " + what);
  }

 private:
  std::string source_;
};

const char* TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

// The node's values as text, in the shape `option` expects.
Status ValuesOf(const YAML::Node& node, const PoolOption& option, std::vector<std::string>* out) {
  using Kind = PoolOption::Kind;
  if (option.kind == Kind::kScalar || option.kind == Kind::kBool) {
    if (!node.IsScalar())
      return Status::Error(std::string("expected a single value, got ") + TypeName(node));
    out->push_back(node.Scalar());
    return Status();
  }
  if (option.kind == Kind::kList) {
    if (!node.IsSequence()) {
      return Status::Error(std::string("expected a list, e.g. [\"a\", \"b\"], got ") +
                           TypeName(node));
    }
    for (const auto& item : node) {
      if (!item.IsScalar())
        return Status::Error(std::string("list items must be single values, got ") +
                             TypeName(item));
      out->push_back(item.Scalar());
    }
    return Status();
  }
  if (!node.IsMap())
    return Status::Error(std::string("expected a mapping of NAME: value, got ") + TypeName(node));
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) {
      return Status::Error("value of " + kv.first.Scalar() + " must be a single value");
    }
    out->push_back(kv.first.Scalar() + "=" + kv.second.Scalar());
  }
  return Status();
}

Status ApplyPoolKey(const YamlError& err, const std::string& where, const std::string& key,
                    const YAML::Node& value, PoolConfig* pool) {
  const PoolOption* option = FindPoolOption(key);
  if (option == nullptr) return err.At(value, where, "unknown key " + Quoted(key));
  std::vector<std::string> values;
  if (Status s = ValuesOf(value, *option, &values); !s.ok()) {
    return err.At(value, where + "." + key, s.message());
  }
  if (Status s = option->set(pool, values); !s.ok()) {
    return err.At(value, where + "." + key, s.message());
  }
  pool->origin[key] = err.Location(value);
  return Status();
}

// Nested sections (readiness, backoff, crash_loop) flatten to dotted keys.
bool IsSection(const std::string& key) {
  return key == "readiness" || key == "backoff" || key == "crash_loop";
}

Status ParsePool(const YamlError& err, const YAML::Node& node, size_t index, PoolConfig* pool) {
  std::string where = "pools[" + std::to_string(index) + "]";
  if (!node.IsMap())
    return err.At(node, where, std::string("expected a mapping, got ") + TypeName(node));
  pool->location = err.Location(node);
  if (node["name"] && node["name"].IsScalar()) where += " (" + node["name"].Scalar() + ")";
  pool->label = where;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (IsSection(key) && value.IsMap()) {
      for (const auto& inner : value) {
        if (Status s =
                ApplyPoolKey(err, where, key + "." + inner.first.Scalar(), inner.second, pool);
            !s.ok()) {
          return s;
        }
      }
    } else if (key == "readiness" && value.IsScalar()) {
      if (Status s = ApplyPoolKey(err, where, "readiness.mode", value, pool); !s.ok()) return s;
    } else if (IsSection(key)) {
      return err.At(value, where + "." + key,
                    std::string("expected a mapping, got ") + TypeName(value));
    } else {
      if (Status s = ApplyPoolKey(err, where, key, value, pool); !s.ok()) return s;
    }
  }
  if (!node["name"]) return err.At(node, where, "missing 'name'");
  if (!node["command"]) return err.At(node, where, "missing 'command'");
  return Status();
}

Status ApplyAgentKey(const YamlError& err, const std::string& key, const YAML::Node& value,
                     Config* config) {
  const AgentOption* option = FindAgentOption(key);
  if (option == nullptr) return err.At(value, key, "unknown key");
  if (!value.IsScalar()) {
    return err.At(value, key, std::string("expected a single value, got ") + TypeName(value));
  }
  if (Status s = option->set(config, value.Scalar()); !s.ok()) {
    return err.At(value, key, s.message());
  }
  config->origin[option->key] = err.Location(value);
  return Status();
}

// hooks: [{name: flush, command: [...], timeout: 10s}, ...]
Status ParseHooks(const YamlError& err, const YAML::Node& node, Config* config) {
  if (!node.IsSequence()) {
    return err.At(node, "hooks", std::string("expected a list of hooks, got ") + TypeName(node));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    const std::string where = "hooks[" + std::to_string(i) + "]";
    if (!item.IsMap())
      return err.At(item, where, std::string("expected a mapping, got ") + TypeName(item));
    HookConfig hook;
    hook.name = "hook-" + std::to_string(i);
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& value = kv.second;
      if (key == "name" && value.IsScalar()) {
        hook.name = value.Scalar();
      } else if (key == "command" && value.IsSequence()) {
        for (const auto& arg : value) {
          if (!arg.IsScalar())
            return err.At(arg, where + ".command", "list items must be single values");
          hook.command.push_back(arg.Scalar());
        }
      } else if (key == "timeout" && value.IsScalar()) {
        auto d = ParseDuration(value.Scalar());
        if (!d.ok()) return err.At(value, where + ".timeout", d.status().message());
        hook.timeout = *d;
      } else if (key == "name" || key == "command" || key == "timeout") {
        return err.At(value, where + "." + key, std::string("wrong type: got ") + TypeName(value));
      } else {
        return err.At(value, where, "unknown key " + Quoted(key));
      }
    }
    if (hook.command.empty() || hook.command.front().empty()) {
      return err.At(item, where, "missing or empty 'command'");
    }
    config->hooks.push_back(std::move(hook));
  }
  return Status();
}

Status ParseTopLevel(const YamlError& err, const YAML::Node& root, Config* config) {
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (key == "pools") {
      if (!value.IsSequence() || value.size() == 0) {
        return err.At(value, "pools", "expected a non-empty list of pools");
      }
      std::set<std::string> names;
      for (size_t i = 0; i < value.size(); ++i) {
        PoolConfig pool;
        if (Status s = ParsePool(err, value[i], i, &pool); !s.ok()) return s;
        if (!names.insert(pool.name).second) {
          return err.At(value[i], "pools[" + std::to_string(i) + "].name",
                        "duplicate pool name " + Quoted(pool.name));
        }
        config->pools.push_back(std::move(pool));
      }
    } else if (key == "hooks") {
      if (Status st = ParseHooks(err, value, config); !st.ok()) return st;
    } else if ((key == "drain" || key == "control" || key == "notify") && value.IsMap()) {
      for (const auto& inner : value) {
        const std::string name = key + "." + inner.first.Scalar();
        if (Status st = ApplyAgentKey(err, name, inner.second, config); !st.ok()) return st;
      }
    } else if (key == "drain" || key == "control" || key == "notify") {
      return err.At(value, key, std::string("expected a mapping, got ") + TypeName(value));
    } else if (FindAgentOption(key) != nullptr) {
      if (Status st = ApplyAgentKey(err, key, value, config); !st.ok()) return st;
    } else if (key == "log") {
      if (!value.IsMap()) return err.At(value, key, "expected a mapping (level, format)");
      for (const auto& inner : value) {
        const std::string name = inner.first.Scalar();
        const std::string v = inner.second.IsScalar() ? inner.second.Scalar() : "";
        if (name == "level") {
          auto level = log::ParseLevel(v);
          if (!level.ok()) return err.At(inner.second, "log.level", level.status().message());
          config->log_level = *level;
        } else if (name == "format") {
          auto format = log::ParseFormat(v);
          if (!format.ok()) return err.At(inner.second, "log.format", format.status().message());
          config->log_format = *format;
        } else {
          return err.At(inner.second, "log", "unknown key " + Quoted(name));
        }
      }
    } else {
      return err.At(value, "top level", "unknown key " + Quoted(key));
    }
  }
  if (config->pools.empty()) return err.At(root, "top level", "missing 'pools'");
  return Status();
}

}  // namespace

StatusOr<Config> ParseConfigYaml(const std::string& text, const std::string& source) {
  YamlError err(source);
  Config config;
  config.source = source;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) {
      return Status::Error(source + ": expected a mapping at the top (with a 'pools' list)");
    }
    if (Status s = ParseTopLevel(err, root, &config); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return Status::Error(source + ":" + std::to_string(e.mark.line + 1) +
                         ": invalid YAML: " + e.msg);
  }
  return config;
}

}  // namespace vigil
