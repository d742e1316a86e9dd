#include "src/train/ema.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace gan {

namespace {

// Applies fn(dst_tensor, src_tensor) to each pair with the same name; both sets must match
// (std::runtime_error naming the first tensor that does not).
template <typename Fn>
void for_each_pair(const torch::OrderedDict<std::string, torch::Tensor>& dst,
                   const torch::OrderedDict<std::string, torch::Tensor>& src, const char* what,
                   Fn fn) {
  // Everything checked before anything is written: a mismatch leaves dst untouched.
  std::vector<const torch::Tensor*> sources;
  sources.reserve(dst.size());
  for (const auto& item : dst) {
    const torch::Tensor* s = src.find(item.key());
    if (!s) throw std::runtime_error(std::string(what) + " '" + item.key() + "' is missing");
    if (!item.value().sizes().equals(s->sizes())) {
      std::ostringstream msg;
      msg << what << " '" << item.key() << "' has shape " << s->sizes() << ", the network expects "
          << item.value().sizes();
      throw std::runtime_error(msg.str());
    }
    sources.push_back(s);
  }
  if (dst.size() != src.size()) {
    throw std::runtime_error(std::string("the modules have different numbers of ") + what + "s (" +
                             std::to_string(dst.size()) + " vs " + std::to_string(src.size()) +
                             ")");
  }
  for (size_t i = 0; i < dst.size(); ++i) {
    torch::Tensor d = dst[i].value();
    fn(d, *sources[i]);
  }
}

}  // namespace

double ema_beta(int64_t batch_size, double ema_kimg, double ema_rampup, int64_t cur_nimg) {
  if (ema_kimg <= 0.0) return 0.0;
  double ema_nimg = ema_kimg * 1000.0;
  if (ema_rampup > 0.0) ema_nimg = std::min(ema_nimg, static_cast<double>(cur_nimg) * ema_rampup);
  return std::pow(0.5, static_cast<double>(batch_size) / std::max(ema_nimg, 1e-8));
}

void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double beta) {
  torch::NoGradGuard no_grad;
  for_each_pair(ema.named_parameters(), net.named_parameters(), "parameter",
                [beta](torch::Tensor& e, const torch::Tensor& p) {
                  e.copy_(torch::lerp(p.to(e.device()), e, beta));
                });
  for_each_pair(ema.named_buffers(), net.named_buffers(), "buffer",
                [](torch::Tensor& e, const torch::Tensor& b) { e.copy_(b); });
}

void copy_module_state(torch::nn::Module& dst, const torch::nn::Module& src) {
  torch::NoGradGuard no_grad;
  auto copy = [](torch::Tensor& d, const torch::Tensor& s) { d.copy_(s); };
  for_each_pair(dst.named_parameters(), src.named_parameters(), "parameter", copy);
  for_each_pair(dst.named_buffers(), src.named_buffers(), "buffer", copy);
}

}  // namespace gan
