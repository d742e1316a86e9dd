#include "models/summary.h"

#include <cstdio>
#include <sstream>

namespace gan {

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

namespace {

std::string format_flops(double flops) {
  char buf[64];
  if (flops >= 1e9) {
    std::snprintf(buf, sizeof(buf), "%.3f GFLOPs", flops / 1e9);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3f MFLOPs", flops / 1e6);
  }
  return buf;
}

void describe(std::ostringstream& out, const std::string& role, const std::string& type,
              const torch::nn::Module& net, double flops) {
  out << role << " '" << type << "': " << thousands(count_parameters(net)) << " parameters, "
      << format_flops(flops) << " per image\n";
  for (const auto& child : net.named_children()) {
    out << "  " << child.key() << ": " << thousands(count_parameters(*child.value()))
        << " parameters\n";
  }
}

}  // namespace

std::string network_summary(const Config& cfg, const NetworkShape& shape) {
  auto g = make_generator(cfg.model, shape);
  auto d = make_discriminator(cfg.model, shape);
  std::ostringstream out;
  out << "networks for " << shape.resolution << "x" << shape.resolution << "x" << shape.channels
      << " images";
  if (cfg.model.conditional) out << ", " << shape.num_classes << " classes";
  out << " (z_dim " << g->z_dim() << "; FLOPs count a multiply-add as 2, convolutions and "
      << "linear layers only)\n";
  describe(out, "generator", cfg.model.g.type, *g, flops_per_image(*g, shape));
  describe(out, "discriminator", cfg.model.d.type, *d, flops_per_image(*d, shape));
  return out.str();
}

}  // namespace gan
