#include "models/mlp.h"

#include <string>

namespace gan {

MlpGeneratorImpl::MlpGeneratorImpl(const MlpGeneratorOptions& o) : options(o) {
  int64_t in = o.z_dim() + o.num_classes();
  for (int64_t i = 0; i < o.depth(); ++i) {
    layers_.push_back(register_module("hidden" + std::to_string(i),
                                      LinearLayer(LinearLayerOptions(in, o.width()))));
    in = o.width();
  }
  layers_.push_back(register_module(
      "output",
      LinearLayer(LinearLayerOptions(in, o.channels() * o.resolution() * o.resolution()))));
}

torch::Tensor MlpGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  torch::Tensor x = generator_input(z, labels, options.z_dim(), options.num_classes(), "mlp");
  for (size_t i = 0; i + 1 < layers_.size(); ++i) x = torch::relu(layers_[i]->forward(x));
  x = torch::tanh(layers_.back()->forward(x));
  return x.reshape({x.size(0), options.channels(), options.resolution(), options.resolution()});
}

GeneratorEntry mlp_generator_entry() {
  GeneratorEntry e;
  e.schema = {"mlp",
              "Fully connected generator: depth hidden ReLU layers of width units, tanh "
              "output; any resolution.",
              {int_key("z_dim", 64, "Latent dimension.", within(1, 4096)),
               int_key("width", 256, "Units per hidden layer.", within(1, 65536)),
               int_key("depth", 2, "Hidden layers.", within(0, 64))}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    check_network_shape("model.g.type", "mlp", shape, shape.resolution > 0, "any");
    return std::static_pointer_cast<GeneratorImpl>(
        std::make_shared<MlpGeneratorImpl>(MlpGeneratorOptions(shape.resolution, shape.channels)
                                               .z_dim(own.get_int("z_dim"))
                                               .width(own.get_int("width"))
                                               .depth(own.get_int("depth"))
                                               .num_classes(shape.num_classes)));
  };
  return e;
}

}  // namespace gan
