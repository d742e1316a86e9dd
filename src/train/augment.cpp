#include "src/train/augment.h"

#include <functional>
#include <mutex>
#include <vector>

#include "src/core/errors.h"
#include "src/train/ada.h"

namespace gan {
namespace {

class NoAugment : public Augment {
 public:
  torch::Tensor apply(const torch::Tensor& x, const BatchRows&) override { return x; }
};

class DiffAugment : public Augment {
 public:
  explicit DiffAugment(std::vector<std::string> policy) : policy_(std::move(policy)) {}
  torch::Tensor apply(const torch::Tensor& x, const BatchRows& rows) override {
    return diff_augment(x, policy_, rows);
  }

 private:
  std::vector<std::string> policy_;
};

class AdaAugment : public Augment {
 public:
  explicit AdaAugment(const ComponentConfig& c)
      : strengths_(ada_strengths(c)),
        resample_(ada_resample(c)),
        schedule_(ada_schedule_options(c)) {}
  torch::Tensor apply(const torch::Tensor& x, const BatchRows& rows) override {
    return ada_augment(x, strengths_, schedule_.p(), rows, resample_);
  }
  void observe_real_logits(const torch::Tensor& logits) override { schedule_.observe(logits); }
  void end_step(int64_t images, const std::function<double(double)>& global_sum) override {
    schedule_.end_step(images, global_sum);
  }
  std::map<std::string, double> stats() const override {
    return {{"augment_p", schedule_.p()}, {"r_t", schedule_.r_t()}};
  }
  std::map<std::string, double> state() const override { return schedule_.state(); }
  void load_state(const std::map<std::string, double>& state) override {
    schedule_.load_state(state);
  }

 private:
  AdaStrengths strengths_;
  AdaResample resample_;
  AdaSchedule schedule_;
};

struct AugmentEntry {
  ComponentSchema schema;
  std::function<std::unique_ptr<Augment>(const ComponentConfig&)> make;
};

const std::vector<AugmentEntry>& entries() {
  static const std::vector<AugmentEntry> e = {
      {{"none", "No augmentation.", {}},
       [](const ComponentConfig&) { return std::make_unique<NoAugment>(); }},
      {{"diffaugment",
        "DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout.",
        {string_list_key("policy", {"color", "translation", "cutout"},
                         "Operations applied in order.", diffaugment_types())}},
       [](const ComponentConfig& c) {
         return std::make_unique<DiffAugment>(c.get_strings("policy"));
       }},
      {ada_schema(), [](const ComponentConfig& c) { return std::make_unique<AdaAugment>(c); }},
  };
  return e;
}

}  // namespace

std::unique_ptr<Augment> make_augment(const ComponentConfig& cfg) {
  std::string known;
  for (const auto& e : entries()) {
    if (e.schema.type == cfg.type) return e.make(cfg);
    known += (known.empty() ? "" : ", ") + e.schema.type;
  }
  throw ConfigError("augment.type: unknown augment '" + cfg.type + "' (known: " + known + ")");
}

void register_augment_components() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& e : entries()) register_component_schema("augment", e.schema);
  });
}

}  // namespace gan
