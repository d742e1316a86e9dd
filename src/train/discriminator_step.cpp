#include "src/train/discriminator_step.h"

#include <torch/torch.h>

#include <stdexcept>

#include "src/train/losses.h"

namespace gan {

DiscriminatorStepTerms discriminator_step_terms(GeneratorImpl& g, DiscriminatorImpl& d,
                                                const DiscriminatorStepSettings& settings,
                                                const DiscriminatorStepInputs& in) {
  const int64_t n = in.real.size(0);
  if (in.z.size(0) != n || (in.fake_labels.defined() && in.fake_labels.size(0) != n) ||
      (in.real_labels.defined() && in.real_labels.size(0) != n)) {
    throw std::invalid_argument("discriminator step: reals, latents and labels differ in rows");
  }
  const bool r1 = settings.r1_weight > 0;
  const bool gp = settings.gp_weight > 0;
  torch::Tensor fake;
  if (in.fake.defined()) {
    fake = in.fake.detach();
  } else if (settings.adversarial || gp) {
    torch::NoGradGuard no_grad;
    fake = settings.generate ? settings.generate(in.z, in.fake_labels)
                             : g.forward(in.z, in.fake_labels);
  }
  auto augment = [&](const torch::Tensor& x) {
    return settings.augment ? settings.augment->apply(x, settings.rows) : x;
  };
  const torch::Tensor real_in = r1 ? in.real.detach().requires_grad_(true) : in.real;
  DiscriminatorStepTerms out;
  // Logits in fp32 whatever autocast computed D in (runtime.precision: bf16): losses and the
  // regularisers' gradient norms stay fp32.
  out.real_logits = d.forward(augment(real_in), in.real_labels).to(torch::kFloat32);
  if (settings.adversarial) {
    out.fake_logits = d.forward(augment(fake), in.fake_labels).to(torch::kFloat32);
    out.loss = d_loss(settings.loss_type, out.real_logits, out.fake_logits);
  } else {
    out.loss = torch::zeros({}, out.real_logits.options());
  }
  out.reg = torch::zeros({}, out.loss.options());
  if (r1) out.reg = out.reg + r1_penalty(out.real_logits, real_in) * settings.r1_weight;
  if (gp) {
    const torch::Tensor alpha =
        settings.rows.pick(torch::rand({settings.rows.total_for(n)}, in.real.options()), n);
    out.reg =
        out.reg + gradient_penalty_at(d, in.real, fake, in.real_labels, alpha) * settings.gp_weight;
  }
  return out;
}

void backward_discriminator_terms(const DiscriminatorStepTerms& t, bool adversarial,
                                  bool regularise, double scale, Augment& augment,
                                  StepStats& stats) {
  ((t.loss + t.reg) * scale).backward();
  if (adversarial) {
    stats.add("loss_d", t.loss.item<double>());
    stats.add("d_real", t.real_logits.mean().item<double>());
    stats.add("d_fake", t.fake_logits.mean().item<double>());
    augment.observe_real_logits(t.real_logits.detach());
  }
  if (regularise) stats.add("loss_reg", t.reg.item<double>());
}

}  // namespace gan
