#include "src/core/component_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace gan {
namespace {

// Whole numbers print without ".0" in messages ("must be >= 1").
std::string number_text(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.10g", v);
  }
  return buf;
}

struct Catalog {
  std::mutex mutex;
  std::map<std::string, std::map<std::string, ComponentSchema>> families;
};

Catalog& catalog() {
  static Catalog c;
  return c;
}

std::function<std::string(const ParamValue&)> number_row_check(NumberCheck check) {
  if (!check) return {};
  return [check](const ParamValue& v) -> std::string {
    if (const auto* i = std::get_if<int64_t>(&v)) return check(double(*i));
    if (const auto* d = std::get_if<double>(&v)) return check(*d);
    return "";
  };
}

ParamKind kind_of(const ParamValue& v) {
  switch (v.index()) {
    case 0:
      return ParamKind::Int;
    case 1:
      return ParamKind::Float;
    case 2:
      return ParamKind::Bool;
    case 3:
      return ParamKind::String;
    case 4:
      return ParamKind::StringList;
    default:
      return ParamKind::FloatList;
  }
}

template <typename T>
const T& get_as(const ComponentConfig& c, const std::string& key) {
  const ParamValue& v = c.value(key);
  if (const T* p = std::get_if<T>(&v)) return *p;
  throw std::logic_error(c.family + " '" + c.type + "': key '" + key + "' read as the wrong kind");
}

}  // namespace

const KeyRow* ComponentSchema::find(const std::string& name) const {
  for (const auto& k : keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

NumberCheck at_least(double bound) {
  return [bound](double v) { return v >= bound ? "" : "must be >= " + number_text(bound); };
}
NumberCheck above(double bound) {
  return [bound](double v) { return v > bound ? "" : "must be > " + number_text(bound); };
}
NumberCheck within(double lo, double hi) {
  return [lo, hi](double v) {
    return (v >= lo && v <= hi) ? ""
                                : "must be in [" + number_text(lo) + ", " + number_text(hi) + "]";
  };
}

KeyRow int_key(std::string name, int64_t default_value, std::string doc, NumberCheck check) {
  return {std::move(name),
          ParamKind::Int,
          default_value,
          std::move(doc),
          {},
          number_row_check(std::move(check))};
}
KeyRow float_key(std::string name, double default_value, std::string doc, NumberCheck check) {
  return {std::move(name),
          ParamKind::Float,
          default_value,
          std::move(doc),
          {},
          number_row_check(std::move(check))};
}
KeyRow bool_key(std::string name, bool default_value, std::string doc) {
  return {std::move(name), ParamKind::Bool, default_value, std::move(doc), {}, {}};
}
KeyRow string_key(std::string name, std::string default_value, std::string doc,
                  std::vector<std::string> choices) {
  return {std::move(name), ParamKind::String,  std::move(default_value),
          std::move(doc),  std::move(choices), {}};
}
KeyRow string_list_key(std::string name, std::vector<std::string> default_value, std::string doc,
                       std::vector<std::string> choices) {
  return {std::move(name), ParamKind::StringList, std::move(default_value),
          std::move(doc),  std::move(choices),    {}};
}
KeyRow float_list_key(std::string name, std::vector<double> default_value, std::string doc,
                      size_t size, NumberCheck each) {
  KeyRow row{
      std::move(name), ParamKind::FloatList, std::move(default_value), std::move(doc), {}, {}};
  row.check = [size, each](const ParamValue& v) -> std::string {
    const auto& list = std::get<std::vector<double>>(v);
    if (size > 0 && list.size() != size) {
      return "must have " + std::to_string(size) + " entries (got " + std::to_string(list.size()) +
             ")";
    }
    if (each) {
      for (double x : list) {
        std::string msg = each(x);
        if (!msg.empty()) return "entries " + msg + " (got " + number_text(x) + ")";
      }
    }
    return "";
  };
  return row;
}

const ComponentSchema& ComponentConfig::schema() const {
  const ComponentSchema* s = find_component_schema(family, type);
  if (!s) {
    throw std::logic_error("no schema for " + family + " '" + type +
                           "' (unknown type, or register_all_components() was not called)");
  }
  return *s;
}

const ParamValue& ComponentConfig::value(const std::string& key) const {
  auto it = params.find(key);
  if (it != params.end()) return it->second;
  const KeyRow* row = schema().find(key);
  if (!row) throw std::logic_error(family + " '" + type + "' has no key '" + key + "'");
  return row->default_value;
}

int64_t ComponentConfig::get_int(const std::string& key) const {
  return get_as<int64_t>(*this, key);
}
double ComponentConfig::get_float(const std::string& key) const {
  return get_as<double>(*this, key);
}
bool ComponentConfig::get_bool(const std::string& key) const {
  return get_as<bool>(*this, key);
}
const std::string& ComponentConfig::get_string(const std::string& key) const {
  return get_as<std::string>(*this, key);
}
const std::vector<std::string>& ComponentConfig::get_strings(const std::string& key) const {
  return get_as<std::vector<std::string>>(*this, key);
}
const std::vector<double>& ComponentConfig::get_floats(const std::string& key) const {
  return get_as<std::vector<double>>(*this, key);
}

ComponentConfig& ComponentConfig::set(const std::string& key, ParamValue v) {
  const KeyRow* row = schema().find(key);
  if (!row) throw std::logic_error(family + " '" + type + "' has no key '" + key + "'");
  // Integers are fine where a float is expected (set("lr", 1) in code).
  if (row->kind == ParamKind::Float && kind_of(v) == ParamKind::Int) {
    v = double(std::get<int64_t>(v));
  }
  if (kind_of(v) != row->kind) {
    throw std::logic_error(family + " '" + type + "': key '" + key + "' must be " +
                           param_kind_name(row->kind));
  }
  params[key] = std::move(v);
  return *this;
}

void register_component_schema(const std::string& family, ComponentSchema schema) {
  Catalog& c = catalog();
  std::lock_guard<std::mutex> lock(c.mutex);
  const std::string type = schema.type;
  c.families[family][type] = std::move(schema);
}

const ComponentSchema* find_component_schema(const std::string& family, const std::string& type) {
  Catalog& c = catalog();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto f = c.families.find(family);
  if (f == c.families.end()) return nullptr;
  auto t = f->second.find(type);
  // Entries are never removed, so the pointer stays valid after the lock is released.
  return t == f->second.end() ? nullptr : &t->second;
}

std::vector<std::string> component_types(const std::string& family) {
  Catalog& c = catalog();
  std::lock_guard<std::mutex> lock(c.mutex);
  std::vector<std::string> out;
  auto f = c.families.find(family);
  if (f != c.families.end()) {
    for (const auto& kv : f->second) out.push_back(kv.first);
  }
  return out;
}

std::vector<std::string> component_families() {
  Catalog& c = catalog();
  std::lock_guard<std::mutex> lock(c.mutex);
  std::vector<std::string> out;
  for (const auto& kv : c.families) out.push_back(kv.first);
  return out;
}

std::string param_kind_name(ParamKind kind) {
  switch (kind) {
    case ParamKind::Int:
      return "int";
    case ParamKind::Float:
      return "float";
    case ParamKind::Bool:
      return "bool";
    case ParamKind::String:
      return "string";
    case ParamKind::StringList:
      return "list[string]";
    case ParamKind::FloatList:
      return "list[float]";
  }
  return "?";
}

}  // namespace gan
