// Components own their configuration keys (tiny-cuda-nn style): a config slot such as
// `model.g` holds a `type:` and that type's own keys, and each registry entry declares its key
// rows (kind, default, check, doc line) in a ComponentSchema. The catalog below collects the
// schemas of every registry, so the config layer can parse, check, emit and document the keys
// without knowing any component. No YAML and no LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace gan {

enum class ParamKind { Int, Float, Bool, String, StringList, FloatList };

using ParamValue =
    std::variant<int64_t, double, bool, std::string, std::vector<std::string>, std::vector<double>>;

// One key of a component: `name` may be dotted ("r1.gamma") for a nested group, written in YAML
// as `r1: {gamma: ...}`.
struct KeyRow {
  std::string name;
  ParamKind kind = ParamKind::Int;
  ParamValue default_value;
  std::string doc;
  std::vector<std::string> choices;  // String / StringList: allowed values (empty = any)
  // "" when the value is fine, else "must be ..." (the config layer adds key and origin).
  std::function<std::string(const ParamValue&)> check;
};

struct ComponentSchema {
  std::string type;  // the `type:` name
  std::string doc;   // one line for the reference
  std::vector<KeyRow> keys;
  const KeyRow* find(const std::string& name) const;
};

// Row builders; `check` receives the number (Int and Float rows).
using NumberCheck = std::function<std::string(double)>;
NumberCheck at_least(double bound);        // v >= bound
NumberCheck above(double bound);           // v > bound
NumberCheck within(double lo, double hi);  // lo <= v <= hi
KeyRow int_key(std::string name, int64_t default_value, std::string doc, NumberCheck check = {});
KeyRow float_key(std::string name, double default_value, std::string doc, NumberCheck check = {});
KeyRow bool_key(std::string name, bool default_value, std::string doc);
KeyRow string_key(std::string name, std::string default_value, std::string doc,
                  std::vector<std::string> choices = {});
KeyRow string_list_key(std::string name, std::vector<std::string> default_value, std::string doc,
                       std::vector<std::string> choices = {});
// Each entry checked by `each`; `size` > 0 requires exactly that many entries.
KeyRow float_list_key(std::string name, std::vector<double> default_value, std::string doc,
                      size_t size = 0, NumberCheck each = {});

// A component chosen in a config: its family ("generator"), type ("dcgan") and the keys set for
// it. Keys not set read as the schema's default, so a default-constructed config works too.
struct ComponentConfig {
  std::string family;
  std::string type;
  std::map<std::string, ParamValue> params;

  ComponentConfig() = default;
  ComponentConfig(std::string family_name, std::string type_name)
      : family(std::move(family_name)), type(std::move(type_name)) {}

  // The schema of `type` (std::logic_error when the type or family is not registered).
  const ComponentSchema& schema() const;
  // The value of `key`, set or default; std::logic_error for a key the schema lacks.
  const ParamValue& value(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  const std::vector<double>& get_floats(const std::string& key) const;
  // Sets a declared key (kind-checked; std::logic_error otherwise). For code and tests; configs
  // go through the config layer, which also records where a key was set.
  ComponentConfig& set(const std::string& key, ParamValue v);
};

// The catalog: every registry adds its schemas once (register_all_components() in
// src/train/component_catalog.h does it for the whole program).
void register_component_schema(const std::string& family, ComponentSchema schema);
// Null when unknown.
const ComponentSchema* find_component_schema(const std::string& family, const std::string& type);
// Registered types of a family, sorted; empty when the family is unknown.
std::vector<std::string> component_types(const std::string& family);
std::vector<std::string> component_families();

std::string param_kind_name(ParamKind kind);  // "int", "float", "list[float]", ...

}  // namespace gan
