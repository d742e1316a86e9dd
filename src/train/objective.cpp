#include "src/train/objective.h"

#include <cmath>
#include <functional>
#include <mutex>

#include "src/core/errors.h"
#include "src/train/classic_objective.h"
#include "src/train/stylegan2_objective.h"

namespace gan {

void StepStats::add(const std::string& name, double value) {
  auto& s = sums_[name];
  s.first += value;
  ++s.second;
}

void StepStats::merge(const StepStats& other) {
  for (const auto& [name, s] : other.sums_) {
    auto& mine = sums_[name];
    mine.first += s.first;
    mine.second += s.second;
  }
}

double StepStats::mean(const std::string& name) const {
  auto it = sums_.find(name);
  return it == sums_.end() || it->second.second == 0 ? 0.0
                                                     : it->second.first / double(it->second.second);
}

bool StepStats::all_finite() const {
  for (const auto& kv : sums_) {
    if (!std::isfinite(kv.second.first)) return false;
  }
  return true;
}

std::string StepStats::describe() const {
  std::string out;
  for (const auto& kv : sums_) {
    out += (out.empty() ? "" : ", ") + kv.first + " " + std::to_string(mean(kv.first));
  }
  return out;
}

namespace {

struct ObjectiveEntry {
  ComponentSchema schema;
  std::function<std::unique_ptr<Objective>(const ComponentConfig&)> make;
};

// One line per objective.
const std::vector<ObjectiveEntry>& entries() {
  static const std::vector<ObjectiveEntry> e = [] {
    std::vector<ObjectiveEntry> out;
    for (const auto& loss : classic_losses()) {
      out.push_back({classic_objective_schema(loss),
                     [loss](const ComponentConfig& c) { return make_classic_objective(loss, c); }});
    }
    out.push_back({stylegan2_objective_schema(), make_stylegan2_objective});
    return out;
  }();
  return e;
}

}  // namespace

std::unique_ptr<Objective> make_objective(const ComponentConfig& cfg) {
  std::string known;
  for (const auto& e : entries()) {
    if (e.schema.type == cfg.type) return e.make(cfg);
    known += (known.empty() ? "" : ", ") + e.schema.type;
  }
  throw ConfigError("loss.type: unknown objective '" + cfg.type + "' (known: " + known + ")");
}

std::vector<Phase> objective_phases(const Objective& objective) {
  std::vector<Phase> phases;
  for (const bool d : {true, false}) {
    const std::string net = d ? "D" : "G";
    const int interval = objective.regulariser_interval(d);
    if (interval <= 1) {
      Phase p;
      p.name = net + (interval == 1 ? "both" : "main");
      p.discriminator = d;
      p.regularise = interval == 1;
      phases.push_back(p);
    } else {
      Phase main;
      main.name = net + "main";
      main.discriminator = d;
      phases.push_back(main);
      Phase reg;
      reg.name = net + "reg";
      reg.discriminator = d;
      reg.adversarial = false;
      reg.regularise = true;
      reg.interval = interval;
      reg.gain = double(interval);
      phases.push_back(reg);
    }
  }
  return phases;
}

double lazy_ratio(const Objective& objective, bool discriminator) {
  const int interval = objective.regulariser_interval(discriminator);
  return interval > 1 ? double(interval) / double(interval + 1) : 1.0;
}

void register_objective_components() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& e : entries()) register_component_schema("objective", e.schema);
  });
}

}  // namespace gan
