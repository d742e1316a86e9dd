#include "models/networks.h"

#include <algorithm>
#include <functional>
#include <mutex>

#include "models/dcgan.h"
#include "models/layers.h"
#include "models/mlp.h"
#include "models/resnet.h"
#include "models/stylegan2_discriminator.h"
#include "models/stylegan2_generator.h"
#include "src/core/errors.h"

namespace gan {

namespace {

int64_t classes(const ModelConfig& cfg, const NetworkShape& shape) {
  if (!cfg.conditional) return 0;
  if (shape.num_classes <= 0) {
    throw ConfigError("model.conditional is true but the dataset has no class labels");
  }
  return shape.num_classes;
}

// One line per architecture.
const std::vector<GeneratorEntry>& generator_entries() {
  static const std::vector<GeneratorEntry> entries = {
      dcgan_generator_entry(), resnet_generator_entry(), mlp_generator_entry(),
      stylegan2_generator_entry()};
  return entries;
}

const std::vector<DiscriminatorEntry>& discriminator_entries() {
  static const std::vector<DiscriminatorEntry> entries = {
      dcgan_discriminator_entry(), resnet_discriminator_entry(), stylegan2_discriminator_entry()};
  return entries;
}

template <typename Entry>
const Entry& find_entry(const std::vector<Entry>& entries, const std::string& family,
                        const std::string& type, const std::string& key) {
  std::vector<std::string> names;
  for (const auto& e : entries) {
    if (e.schema.type == type) return e;
    names.push_back(e.schema.type);
  }
  std::sort(names.begin(), names.end());
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(key + ": unknown " + family + " '" + type + "' (known: " + known + ")");
}

void init_weight(torch::Tensor& w, const std::string& scheme) {
  if (scheme == "normal") {
    torch::nn::init::normal_(w, 0.0, 0.02);
  } else if (scheme == "orthogonal") {
    torch::nn::init::orthogonal_(w);
  } else {
    torch::nn::init::xavier_uniform_(w);
  }
}

void zero_if_defined(torch::Tensor& b) {
  if (b.defined()) torch::nn::init::zeros_(b);
}

// Restores the training flag on scope exit.
class EvalScope {
 public:
  explicit EvalScope(torch::nn::Module& net) : net_(net), was_training_(net.is_training()) {
    net_.eval();
  }
  ~EvalScope() { net_.train(was_training_); }

 private:
  torch::nn::Module& net_;
  bool was_training_;
};

torch::Device device_of(const torch::nn::Module& net) {
  const auto params = net.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

}  // namespace

void register_network_components() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& e : generator_entries()) register_component_schema("generator", e.schema);
    for (const auto& e : discriminator_entries()) {
      register_component_schema("discriminator", e.schema);
    }
  });
}

void check_network_shape(const std::string& key, const std::string& type, const NetworkShape& shape,
                         bool supported, const std::string& known) {
  if (!supported) {
    throw ConfigError(key + " '" + type + "' does not support resolution " +
                      std::to_string(shape.resolution) + " (supported: " + known + ")");
  }
  if (shape.channels <= 0) {
    throw ConfigError(key + ": invalid number of image channels " + std::to_string(shape.channels));
  }
}

std::shared_ptr<GeneratorImpl> make_generator(const ModelConfig& cfg, const NetworkShape& shape) {
  NetworkShape s = shape;
  s.num_classes = int(classes(cfg, shape));
  auto g = find_entry(generator_entries(), "generator", cfg.g.type, "model.g.type").make(cfg.g, s);
  initialize_weights(*g, cfg.init);
  return g;
}

std::shared_ptr<DiscriminatorImpl> make_discriminator(const ModelConfig& cfg,
                                                      const NetworkShape& shape) {
  NetworkShape s = shape;
  s.num_classes = int(classes(cfg, shape));
  auto d = find_entry(discriminator_entries(), "discriminator", cfg.d.type, "model.d.type")
               .make(cfg.d, s);
  initialize_weights(*d, cfg.init);
  return d;
}

std::vector<std::string> generator_types() {
  std::vector<std::string> out;
  for (const auto& e : generator_entries()) out.push_back(e.schema.type);
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::string> discriminator_types() {
  std::vector<std::string> out;
  for (const auto& e : discriminator_entries()) out.push_back(e.schema.type);
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::string> init_schemes() {
  return {"normal", "orthogonal", "xavier"};
}

void initialize_weights(torch::nn::Module& net, const std::string& scheme) {
  if (scheme != "normal" && scheme != "orthogonal" && scheme != "xavier") {
    throw ConfigError("model.init: unknown scheme '" + scheme +
                      "' (known: normal, orthogonal, xavier)");
  }
  torch::NoGradGuard no_grad;
  for (const auto& m : net.modules(/*include_self=*/true)) {
    if (auto* c = m->as<torch::nn::Conv2dImpl>()) {
      init_weight(c->weight, scheme);
      zero_if_defined(c->bias);
    } else if (auto* t = m->as<torch::nn::ConvTranspose2dImpl>()) {
      init_weight(t->weight, scheme);
      zero_if_defined(t->bias);
    } else if (auto* l = m->as<torch::nn::LinearImpl>()) {
      init_weight(l->weight, scheme);
      zero_if_defined(l->bias);
    } else if (auto* e = m->as<torch::nn::EmbeddingImpl>()) {
      init_weight(e->weight, scheme);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      // DCGAN draws batch-norm gains from N(1, 0.02); the other schemes keep PyTorch's 1/0.
      if (bn->weight.defined()) {
        if (scheme == "normal") {
          torch::nn::init::normal_(bn->weight, 1.0, 0.02);
        } else {
          torch::nn::init::ones_(bn->weight);
        }
      }
      zero_if_defined(bn->bias);
    }
  }
}

int64_t count_parameters(const torch::nn::Module& net) {
  int64_t n = 0;
  for (const auto& p : net.parameters()) n += p.numel();
  return n;
}

double flops_per_image(GeneratorImpl& g, const NetworkShape& shape) {
  const torch::Device device = device_of(g);
  EvalScope eval(g);
  torch::NoGradGuard no_grad;
  const torch::Tensor z = torch::zeros({1, g.z_dim()}, torch::TensorOptions().device(device));
  const torch::Tensor labels =
      torch::zeros({1}, torch::TensorOptions().dtype(torch::kLong).device(device));
  (void)shape;
  FlopCounterScope counter;
  g.forward(z, labels);
  return counter.flops();
}

double flops_per_image(DiscriminatorImpl& d, const NetworkShape& shape) {
  const torch::Device device = device_of(d);
  EvalScope eval(d);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::zeros({1, shape.channels, shape.resolution, shape.resolution},
                                       torch::TensorOptions().device(device));
  const torch::Tensor labels =
      torch::zeros({1}, torch::TensorOptions().dtype(torch::kLong).device(device));
  FlopCounterScope counter;
  d.forward(x, labels);
  return counter.flops();
}

torch::Tensor generator_input(const torch::Tensor& z, const torch::Tensor& labels, int64_t z_dim,
                              int64_t one_hot_classes, const std::string& name) {
  torch::Tensor x = z.reshape({z.size(0), -1});
  TORCH_CHECK(x.size(1) == z_dim, name, " generator: z has ", x.size(1), " features, expected ",
              z_dim);
  if (one_hot_classes > 0) {
    TORCH_CHECK(labels.defined(), "a conditional generator needs labels");
    x = torch::cat({x, torch::one_hot(labels.reshape({-1}).to(torch::kLong), one_hot_classes)
                           .to(x.scalar_type())},
                   1);
  }
  return x;
}

}  // namespace gan
