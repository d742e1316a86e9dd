#include "src/train/optimizer.h"

#include <torch/optim/adam.h>

#include <cmath>
#include <functional>
#include <mutex>

#include "src/core/errors.h"

namespace gan {
namespace {

struct OptimizerEntry {
  ComponentSchema schema;
  std::function<std::unique_ptr<torch::optim::Optimizer>(const ComponentConfig&,
                                                         std::vector<torch::Tensor>, double)>
      make;
};

const std::vector<OptimizerEntry>& entries() {
  static const std::vector<OptimizerEntry> e = {
      {{"adam",
        "Adam (Kingma & Ba 2015).",
        {float_key("lr", 2e-4, "Learning rate.", above(0)),
         float_list_key("betas", {0.5, 0.999}, "Adam betas [beta1, beta2].", 2,
                        within(0, 0.9999999)),
         float_key("eps", 1e-8, "Adam epsilon.", above(0))}},
       [](const ComponentConfig& c, std::vector<torch::Tensor> params, double ratio) {
         const auto& betas = c.get_floats("betas");
         return std::unique_ptr<torch::optim::Optimizer>(std::make_unique<torch::optim::Adam>(
             std::move(params), torch::optim::AdamOptions(c.get_float("lr") * ratio)
                                    .betas({std::pow(betas[0], ratio), std::pow(betas[1], ratio)})
                                    .eps(c.get_float("eps"))));
       }},
  };
  return e;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const ComponentConfig& cfg,
                                                        std::vector<torch::Tensor> params,
                                                        double ratio) {
  std::string known;
  for (const auto& e : entries()) {
    if (e.schema.type == cfg.type) return e.make(cfg, std::move(params), ratio);
    known += (known.empty() ? "" : ", ") + e.schema.type;
  }
  throw ConfigError("optim: unknown optimizer '" + cfg.type + "' (known: " + known + ")");
}

double effective_learning_rate(const ComponentConfig& cfg, double scale, double ratio) {
  return cfg.get_float("lr") * scale * ratio;
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

void register_optimizer_components() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& e : entries()) register_component_schema("optimizer", e.schema);
  });
}

}  // namespace gan
