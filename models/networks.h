// Common interfaces of generators and discriminators, their registries and factories, weight
// initialisers, and parameter/FLOP counting.
#pragma once

#include <torch/nn.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/core/component_config.h"
#include "src/core/config.h"

namespace gan {

// What the networks need to know about the data; filled from the dataset.
struct NetworkShape {
  int resolution = 32;
  int channels = 1;
  int num_classes = 0;  // used when model.conditional
};

// Throws ConfigError "<key> '<type>' does not support resolution R (supported: ...)" unless
// `supported`, and on a shape without channels.
void check_network_shape(const std::string& key, const std::string& type, const NetworkShape& shape,
                         bool supported, const std::string& known);

// z [N, z_dim] float, labels int64 [N] (ignored, may be undefined, when unconditional)
// -> images [N, C, H, W] in [-1, 1].
class GeneratorImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) = 0;
  virtual int z_dim() const = 0;
};

// images [N, C, H, W], labels int64 [N] (ignored when unconditional) -> raw logits [N]
// (no sigmoid; the loss applies it).
class DiscriminatorImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels) = 0;
};

// A registry entry: the type's key rows and its factory. `own` is the model.g / model.d slot;
// shape.num_classes is 0 unless the model is conditional. A new architecture is its own file
// pair exporting one entry function, added by one line to the registry in networks.cpp.
struct GeneratorEntry {
  ComponentSchema schema;
  std::function<std::shared_ptr<GeneratorImpl>(const ComponentConfig& own,
                                               const NetworkShape& shape)>
      make;
};
struct DiscriminatorEntry {
  ComponentSchema schema;
  std::function<std::shared_ptr<DiscriminatorImpl>(const ComponentConfig& own,
                                                   const NetworkShape& shape)>
      make;
};

// Adds every generator and discriminator schema to the component catalog (once).
void register_network_components();

// Builds the network of cfg.g / cfg.d for `shape` and initialises its weights with cfg.init.
// Throws ConfigError on an unknown type (listing the known ones), an unsupported resolution,
// or a conditional model without classes.
std::shared_ptr<GeneratorImpl> make_generator(const ModelConfig& cfg, const NetworkShape& shape);
std::shared_ptr<DiscriminatorImpl> make_discriminator(const ModelConfig& cfg,
                                                      const NetworkShape& shape);
std::vector<std::string> generator_types();
std::vector<std::string> discriminator_types();

// Re-initialises every convolution, transposed convolution, linear and embedding weight of
// `net` (biases to 0) with scheme "normal" (N(0, 0.02), DCGAN; batch-norm gains N(1, 0.02)),
// "orthogonal" or "xavier" (Xavier uniform, gain 1). Conditional batch-norm gains and biases
// and spectral-norm vectors are left alone. ConfigError on an unknown scheme.
void initialize_weights(torch::nn::Module& net, const std::string& scheme);
std::vector<std::string> init_schemes();

// z as [N, z_dim] (checked, `name` in the message), with the one-hot class appended when
// `one_hot_classes` > 0: conditional generators without conditional batch norm carry the class
// this way.
torch::Tensor generator_input(const torch::Tensor& z, const torch::Tensor& labels, int64_t z_dim,
                              int64_t one_hot_classes, const std::string& name);

// Number of scalars in the parameters (not buffers) of `net`.
int64_t count_parameters(const torch::nn::Module& net);

// FLOPs of one forward pass for one image (a multiply-add counts 2; convolutions, linear layers
// and the projection only). Runs one image through the network in eval mode without gradient
// and restores the training flag; spectral-norm vectors are not updated.
double flops_per_image(GeneratorImpl& g, const NetworkShape& shape);
double flops_per_image(DiscriminatorImpl& d, const NetworkShape& shape);

}  // namespace gan
