// Compares the C++ networks with independent PyTorch implementations
// (scripts/make_models_fixtures.py -> tests/data/models_reference.pt).
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>
#include "models/dcgan.h"
#include "models/layers.h"
#include "models/resnet.h"
#include "tensor_fixture.h"

namespace {

const std::map<std::string, torch::Tensor>& reference() {
  static const std::map<std::string, torch::Tensor> arrays =
      test_fixture::load_tensor_dict(std::string(GAN_TEST_DATA_DIR) + "/models_reference.pt");
  return arrays;
}

torch::Tensor fixture(const std::string& name) {
  auto it = reference().find(name);
  if (it == reference().end()) throw std::runtime_error("fixture lacks " + name);
  return it->second;
}

// Loads every "<prefix><parameter name>" array into the module; each parameter must be present.
void load_parameters(torch::nn::Module& net, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  int loaded = 0;
  for (auto& p : net.named_parameters()) {
    INFO("parameter " << p.key());
    const torch::Tensor t = fixture(prefix + p.key());
    REQUIRE(t.sizes() == p.value().sizes());
    p.value().copy_(t);
    ++loaded;
  }
  int stored = 0;
  for (const auto& kv : reference()) stored += kv.first.rfind(prefix, 0) == 0;
  CHECK(loaded == stored);  // no array left unused: the structures match one to one
}

}  // namespace

TEST_CASE("DCGAN matches a PyTorch reference", "[models][dcgan][reference]") {
  gan::DcganGenerator g(gan::DcganGeneratorOptions(16, 3).z_dim(8).width(4));
  gan::DcganDiscriminator d(gan::DcganDiscriminatorOptions(16, 3).width(4));
  load_parameters(*g, "dcgan.g.");
  load_parameters(*d, "dcgan.d.");
  const torch::Tensor images = g->forward(fixture("dcgan.z"), {});
  CHECK(torch::allclose(images, fixture("dcgan.images"), 1e-4, 1e-5));
  CHECK(torch::allclose(d->forward(fixture("dcgan.images"), {}), fixture("dcgan.logits"), 1e-4,
                        1e-5));
}

TEST_CASE("ResNet G/D match a PyTorch reference", "[models][resnet][reference]") {
  gan::ResnetGenerator g(gan::ResnetGeneratorOptions(32, 3).z_dim(8).width(1));
  gan::ResnetDiscriminator d(gan::ResnetDiscriminatorOptions(32, 3).width(1).spectral_norm(false));
  load_parameters(*g, "resnet.g.");
  load_parameters(*d, "resnet.d.");
  CHECK(torch::allclose(g->forward(fixture("resnet.z"), {}), fixture("resnet.images"), 1e-4, 1e-5));
  CHECK(torch::allclose(d->forward(fixture("resnet.images"), {}), fixture("resnet.logits"), 1e-4,
                        1e-5));
}

TEST_CASE("spectral norm matches torch.nn.utils.spectral_norm",
          "[models][spectral_norm][reference]") {
  gan::LinearLayer linear(gan::LinearLayerOptions(7, 5).spectral_norm(true));
  {
    torch::NoGradGuard no_grad;
    linear->linear->weight.copy_(fixture("sn.weight"));
    linear->linear->bias.copy_(fixture("sn.bias"));
    linear->sn->u.copy_(fixture("sn.u0"));
  }
  const torch::Tensor y = linear->forward(fixture("sn.x"));  // one power iteration
  CHECK(torch::allclose(linear->sn->u, fixture("sn.u1"), 1e-5, 1e-6));
  CHECK(torch::allclose(y, fixture("sn.y"), 1e-5, 1e-6));
  linear->eval();
  CHECK(torch::allclose(linear->weight(), fixture("sn.normalized"), 1e-3, 1e-5));
}
