// One registry per component family (generators, discriminators, losses, datasets, metrics):
// components are chosen by a `type:` string, and an unknown name lists the known ones.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "src/core/errors.h"

namespace gan {

template <typename Factory>
class Registry {
 public:
  explicit Registry(std::string family) : family_(std::move(family)) {}

  void add(const std::string& name, Factory factory) { entries_[name] = std::move(factory); }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  // Throws ConfigError "unknown <family> 'x' (known: a, b, c)"; `context` (e.g. a config
  // location) is prefixed when given.
  const Factory& get(const std::string& name, const std::string& context = "") const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw ConfigError(context + "unknown " + family_ + " '" + name + "' (known: " + known() +
                        ")");
    }
    return it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }

  std::string known() const {
    std::string out;
    for (const auto& kv : entries_) out += (out.empty() ? "" : ", ") + kv.first;
    return out;
  }

 private:
  std::string family_;
  std::map<std::string, Factory> entries_;
};

}  // namespace gan
