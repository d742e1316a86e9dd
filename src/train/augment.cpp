#include "src/train/augment.h"

#include <functional>
#include <mutex>
#include <vector>

#include "src/core/errors.h"

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
