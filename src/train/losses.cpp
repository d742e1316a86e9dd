#include "src/train/losses.h"

#include <functional>

#include "src/core/errors.h"
#include "src/core/registry.h"

namespace gan {

namespace {

struct LossPair {
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> d;
  std::function<torch::Tensor(const torch::Tensor&)> g;
};

const Registry<LossPair>& loss_registry() {
  static const Registry<LossPair> registry = [] {
    Registry<LossPair> r("loss");  // names match classic_losses()
    r.add("nonsaturating",
          {[](const torch::Tensor& real, const torch::Tensor& fake) {
             return torch::softplus(-real).mean() + torch::softplus(fake).mean();
           },
           [](const torch::Tensor& fake) { return torch::softplus(-fake).mean(); }});
    r.add("hinge", {[](const torch::Tensor& real, const torch::Tensor& fake) {
                      return torch::relu(1.0 - real).mean() + torch::relu(1.0 + fake).mean();
                    },
                    [](const torch::Tensor& fake) { return -fake.mean(); }});
    r.add("wgan", {[](const torch::Tensor& real, const torch::Tensor& fake) {
                     return fake.mean() - real.mean();
                   },
                   [](const torch::Tensor& fake) { return -fake.mean(); }});
    r.add("lsgan", {[](const torch::Tensor& real, const torch::Tensor& fake) {
                      return 0.5 * (real - 1.0).square().mean() + 0.5 * fake.square().mean();
                    },
                    [](const torch::Tensor& fake) { return 0.5 * (fake - 1.0).square().mean(); }});
    return r;
  }();
  return registry;
}

torch::Tensor input_gradient(const torch::Tensor& outputs, const torch::Tensor& inputs) {
  TORCH_CHECK(inputs.requires_grad(),
              "gradient penalty: the images must require grad before the discriminator runs");
  return torch::autograd::grad({outputs.sum()}, {inputs}, /*grad_outputs=*/{},
                               /*retain_graph=*/true, /*create_graph=*/true)[0];
}

}  // namespace

torch::Tensor d_loss(const std::string& type, const torch::Tensor& real_logits,
                     const torch::Tensor& fake_logits) {
  return loss_registry().get(type, "loss.type: ").d(real_logits, fake_logits);
}

torch::Tensor g_loss(const std::string& type, const torch::Tensor& fake_logits) {
  return loss_registry().get(type, "loss.type: ").g(fake_logits);
}

torch::Tensor r1_penalty(const torch::Tensor& real_logits, const torch::Tensor& real_images) {
  const torch::Tensor grad = input_gradient(real_logits, real_images);
  return grad.square().reshape({grad.size(0), -1}).sum(1).mean();
}

torch::Tensor gradient_penalty_at(DiscriminatorImpl& d, const torch::Tensor& real,
                                  const torch::Tensor& fake, const torch::Tensor& labels,
                                  const torch::Tensor& alpha) {
  const torch::Tensor a = alpha.reshape({-1, 1, 1, 1}).to(real.options());
  const torch::Tensor x_hat = (a * real.detach() + (1.0 - a) * fake.detach()).requires_grad_(true);
  const torch::Tensor out = d.forward(x_hat, labels).to(torch::kFloat32);
  const torch::Tensor grad = input_gradient(out, x_hat);
  const torch::Tensor norm = grad.reshape({grad.size(0), -1}).norm(2, 1);
  return (norm - 1.0).square().mean();
}

torch::Tensor gradient_penalty(DiscriminatorImpl& d, const torch::Tensor& real,
                               const torch::Tensor& fake, const torch::Tensor& labels) {
  const torch::Tensor alpha = torch::rand({real.size(0)}, real.options());
  return gradient_penalty_at(d, real, fake, labels, alpha);
}

}  // namespace gan
