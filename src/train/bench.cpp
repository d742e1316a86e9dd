#include "src/train/bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "models/layers.h"
#include "src/train/augment.h"
#include "src/train/ema.h"
#include "src/train/objective.h"
#include "src/train/training_step.h"

namespace gan {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

double train_flops_per_image(double g_flops, double d_flops, bool share_fakes) {
  // One G forward fewer when D's and G's phases share it.
  return (share_fakes ? 3.0 : 4.0) * g_flops + 8.0 * d_flops;
}

void set_fast_layers(torch::nn::Module& net, bool fast) {
  for (const auto& m : net.modules()) {
    if (auto* ct = dynamic_cast<ConvTranspose2dLayerImpl*>(m.get())) ct->options.fast_paths(fast);
  }
}

void to_channels_last(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

TrainBenchResult bench_train(const TrainBenchSetup& setup, const RealBatchFn& next_reals) {
  auto g = make_generator(setup.model, setup.shape);
  auto d = make_discriminator(setup.model, setup.shape);
  auto g_ema = make_generator(setup.model, setup.shape);
  set_fast_layers(*g, setup.fast_layers);
  set_fast_layers(*g_ema, setup.fast_layers);
  g->to(setup.device);
  d->to(setup.device);
  g_ema->to(setup.device);
  if (setup.channels_last) {
    to_channels_last(*g);
    to_channels_last(*d);
    to_channels_last(*g_ema);
  }
  copy_module_state(*g_ema, *g);
  g_ema->eval();
  for (auto& p : g_ema->parameters()) p.set_requires_grad(false);
  auto objective = make_objective(setup.loss);
  auto augment = make_augment(setup.augment);
  TrainingStepOptions options;
  options.batch_size = setup.batch_size;
  options.n_critic = setup.n_critic;
  options.accumulate = setup.accumulate;
  options.share_fakes = setup.share_fakes;
  options.num_classes = setup.model.conditional ? setup.shape.num_classes : 0;
  options.device = setup.device;
  options.precision = setup.precision;
  TrainingStep step(*g, *d, *objective, *augment, setup.optim.g, setup.optim.d, options);
  const int64_t batch = setup.batch_size;

  TrainBenchResult result;
  result.flops_per_step =
      train_flops_per_image(flops_per_image(*g, setup.shape), flops_per_image(*d, setup.shape),
                            setup.share_fakes) *
      double(batch) * setup.n_critic;
  int64_t nimg = 0;
  std::vector<double> step_totals;
  bool finite = true;
  for (int i = 0; i < setup.warmup + setup.steps; ++i) {
    const bool timed = i >= setup.warmup;
    StepTimes t;
    auto reals = [&] {
      const auto t0 = Clock::now();
      Batch b;
      b.images = next_reals();
      if (setup.channels_last) b.images = b.images.contiguous(at::MemoryFormat::ChannelsLast);
      if (options.num_classes > 0) {
        b.labels = torch::randint(options.num_classes, {b.images.size(0)}, torch::kLong);
      }
      t.data += seconds_since(t0);
      return b;
    };
    const StepResult r = step.run(i, reals, StepSync{});
    finite = finite && r.stats.all_finite();
    t.optimizer = r.optimizer_seconds_d + r.optimizer_seconds_g;
    t.d_step = std::max(0.0, r.phase_seconds_d - t.data - r.optimizer_seconds_d);
    t.g_step = std::max(0.0, r.phase_seconds_g - r.optimizer_seconds_g);
    nimg += r.images;

    const auto t0 = Clock::now();
    const double beta =
        setup.ema_kimg > 0 ? ema_beta(batch, setup.ema_kimg, setup.ema_rampup, nimg) : 0.0;
    ema_update(*g_ema, *g, beta);
    // CUDA runs asynchronously: the step's read-outs synchronise its phases, this the EMA.
    if (setup.device.is_cuda()) torch::cuda::synchronize();
    t.ema = seconds_since(t0);

    if (timed) {
      step_totals.push_back(t.total());
      result.per_step.data += t.data;
      result.per_step.d_step += t.d_step;
      result.per_step.g_step += t.g_step;
      result.per_step.ema += t.ema;
      result.per_step.optimizer += t.optimizer;
      ++result.steps;
    }
  }
  TORCH_CHECK(finite, "bench: non-finite loss");
  const double n = std::max(1, result.steps);
  result.per_step.data /= n;
  result.per_step.d_step /= n;
  result.per_step.g_step /= n;
  result.per_step.ema /= n;
  result.per_step.optimizer /= n;
  const double step_s = result.per_step.total();
  result.img_per_s = step_s > 0 ? double(batch) / step_s : 0;
  result.gflops = step_s > 0 ? result.flops_per_step / step_s / 1e9 : 0;
  if (!step_totals.empty()) {
    std::sort(step_totals.begin(), step_totals.end());
    const size_t m = step_totals.size();
    const double median =
        m % 2 ? step_totals[m / 2] : 0.5 * (step_totals[m / 2 - 1] + step_totals[m / 2]);
    result.img_per_s_median = median > 0 ? double(batch) / median : 0;
  }
  return result;
}

double bench_augment(const ComponentConfig& augment, int64_t batch, int64_t channels, int64_t res,
                     int warmup, int iters, bool backward, c10::Device device) {
  auto aug = make_augment(augment);
  const torch::Tensor x = torch::rand({batch, channels, res, res}, device) * 2 - 1;
  double seconds = 0;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto t0 = Clock::now();
    if (backward) {
      const torch::Tensor in = x.detach().requires_grad_(true);
      aug->apply(in, BatchRows{}).sum().backward();
      TORCH_CHECK(in.grad().defined(), "bench: the augmentation passed no gradient");
    } else {
      torch::NoGradGuard no_grad;
      aug->apply(x, BatchRows{});
    }
    if (device.is_cuda()) torch::cuda::synchronize();
    if (i >= warmup) seconds += seconds_since(t0);
  }
  return seconds > 0 ? double(batch) * iters / seconds : 0;
}

double bench_generate(GeneratorImpl& g, int64_t batch, int warmup, int iters, Precision precision) {
  const bool was_training = g.is_training();
  g.eval();
  torch::InferenceMode guard;
  const c10::Device device = g.parameters().front().device();
  double seconds = 0;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto t0 = Clock::now();
    torch::Tensor images;
    {
      AutocastScope autocast(precision, device);
      images = g.forward(torch::randn({batch, g.z_dim()}, device), torch::Tensor());
    }
    // The images as they leave G (fp32; on CUDA, finished computing).
    images = images.to(torch::kCPU, torch::kFloat32);
    TORCH_CHECK(images.size(0) == batch, "bench: generator returned ", images.sizes());
    if (i >= warmup) seconds += seconds_since(t0);
  }
  g.train(was_training);
  return seconds > 0 ? double(batch) * iters / seconds : 0;
}

double peak_matmul_gflops(int64_t n, int iters) {
  torch::InferenceMode guard;
  const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::mm(a, b);  // warm-up
  double best = 0;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    torch::mm_out(c, a, b);
    best = std::max(best, 2.0 * double(n) * n * n / seconds_since(t0) / 1e9);
  }
  return best;
}

double peak_conv2d_gflops(int iters, torch::ScalarType dtype, bool channels_last) {
  torch::InferenceMode guard;
  const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  const torch::Tensor x = torch::randn({64, 128, 16, 16}).to(dtype).contiguous(format);
  const torch::Tensor w = torch::randn({128, 128, 3, 3}).to(dtype).contiguous(format);
  torch::conv2d(x, w, {}, 1, 1);  // warm-up (oneDNN primitive creation)
  const double flops = 2.0 * 64 * 128 * 16 * 16 * 128 * 9;
  double best = 0;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    torch::Tensor y = torch::conv2d(x, w, {}, 1, 1);
    best = std::max(best, flops / seconds_since(t0) / 1e9);
  }
  return best;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return bool(out);
}

double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      double kib = 0;
      fields >> kib;
      return kib / 1024.0;
    }
  }
  return 0;
}

}  // namespace gan
