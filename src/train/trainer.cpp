#include "src/train/trainer.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "data/datasets.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "models/networks.h"
#include "src/core/crash_point.h"
#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/core/logging.h"
#include "src/core/runtime.h"
#include "src/core/stop_signal.h"
#include "src/train/checkpoint.h"
#include "src/train/diffaugment.h"
#include "src/train/discriminator_step.h"
#include "src/train/distributed.h"
#include "src/train/ema.h"
#include "src/train/image_grid.h"
#include "src/train/losses.h"
#include "src/train/pending_evaluation.h"
#include "src/train/resume_cleanup.h"
#include "src/train/run_folder.h"
#include "src/train/run_lock.h"
#include "src/train/snapshot.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

TrainEvalHook g_eval_hook;

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double grad_norm(const std::vector<torch::Tensor>& params) {
  double sum = 0.0;
  for (const auto& p : params) {
    if (p.grad().defined()) sum += p.grad().detach().pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

void set_requires_grad(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

// Sums of per-step statistics over one tick.
struct TickStats {
  double loss_d = 0, loss_g = 0, d_real = 0, d_fake = 0, reg = 0, gnorm_d = 0, gnorm_g = 0;
  int64_t steps = 0, reg_steps = 0;
  void clear() { *this = TickStats(); }
};

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = int64_t(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(s / 3600),
                  (long long)(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  }
  return buf;
}

// The networks, optimisers and data of one run.
struct Run {
  Config cfg;
  c10::Device device{c10::kCPU};
  std::string dir;
  std::shared_ptr<Dataset> dataset;
  std::unique_ptr<Loader> loader;
  NetworkShape shape;
  std::shared_ptr<GeneratorImpl> g, g_ema;
  std::shared_ptr<DiscriminatorImpl> d;
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
  TrainProgress progress;
  std::string last_checkpoint;

  CheckpointParts parts() { return {g.get(), d.get(), g_ema.get(), opt_g.get(), opt_d.get()}; }

  void set_learning_rates() {
    for (auto& group : opt_g->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options())
          .lr(cfg.optim.lr_g * progress.lr_scale);
    }
    for (auto& group : opt_d->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options())
          .lr(cfg.optim.lr_d * progress.lr_scale);
    }
  }

  std::string write_checkpoint() {
    LoaderPosition pos = loader->position();
    progress.loader_epoch = pos.epoch;
    progress.loader_batch = pos.batch;
    const std::string path = checkpoint_path(dir, progress.step);
    save_checkpoint(path, cfg, parts(), progress);
    last_checkpoint = path;
    // Keep the newest K; never delete the one just written or best.pt.
    auto all = list_checkpoints(dir);
    for (size_t i = size_t(cfg.train.keep_checkpoints); i < all.size(); ++i) {
      std::error_code ec;
      fs::remove(all[i], ec);
    }
    spdlog::info("checkpoint {}", path);
    return path;
  }

  std::unique_ptr<ProcessGroup> pg;  // null in a single-process run
  bool leader = true;                // rank 0: the only rank that writes files

  torch::Tensor sample_labels(int64_t n) {
    if (!cfg.model.conditional) return torch::Tensor();
    return torch::randint(shape.num_classes, {n}, torch::TensorOptions(torch::kLong)).to(device);
  }
};

// Fixed latents (and labels) for the sample grids: drawn from their own generator so they do
// not disturb the training RNG stream.
std::pair<torch::Tensor, torch::Tensor> grid_inputs(const Run& run) {
  const int64_t n = int64_t(run.cfg.train.grid_size) * run.cfg.train.grid_size;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(run.cfg.runtime.seed) + 12345);
  torch::Tensor z = torch::randn({n, run.g->z_dim()}, gen, torch::kFloat).to(run.device);
  torch::Tensor labels;
  if (run.cfg.model.conditional) {
    // One class per row, cycling through the classes.
    labels = (torch::arange(n, torch::kLong) / run.cfg.train.grid_size) % run.shape.num_classes;
    labels = labels.to(run.device);
  }
  return {z, labels};
}

void save_fakes(Run& run, const std::string& name) {
  torch::NoGradGuard no_grad;
  auto [z, labels] = grid_inputs(run);
  run.g_ema->eval();
  torch::Tensor images = run.g_ema->forward(z, labels);
  save_image_grid((fs::path(run.dir) / name).string(), images, run.cfg.train.grid_size);
}

}  // namespace

void set_train_eval_hook(TrainEvalHook hook) {
  g_eval_hook = std::move(hook);
}

TrainResult train(const Config& cfg, const TrainRunOptions& options) {
  // Before any work: a signal during start-up stops the run cleanly (see the loop's start).
  StopSignalScope signals(options.handle_signals);
  Run run;
  run.cfg = cfg;
  run.device = apply_runtime(cfg.runtime, cfg.where("runtime.device"));
  const bool resuming = !options.resume_from.empty();
  const DistEnv dist = dist_env_from_environment();
  if (dist.active()) {
    if (cfg.train.on_nan == "rollback") {
      throw ConfigError(cfg.where("train.on_nan") +
                        "train.on_nan: rollback is not supported with WORLD_SIZE > 1 (use stop)");
    }
    if (run.device.is_cuda())
      run.device = c10::Device(c10::kCUDA, c10::DeviceIndex(dist.local_rank));
    const DistTimeouts timeouts = dist_timeouts_from_environment(
        cfg.runtime.dist_timeout_s, cfg.runtime.dist_rendezvous_timeout_s);
    run.pg =
        std::make_unique<ProcessGroup>(dist, run.device, timeouts.collective, timeouts.rendezvous);
    run.leader = dist.rank == 0;
    // One rank speaks; the others only report problems.
    if (!run.leader) spdlog::set_level(spdlog::level::warn);
  }
  auto global_mean = [&](double v) {
    return run.pg ? run.pg->allreduce_sum(v) / dist.world_size : v;
  };
  auto global_sum = [&](double v) { return run.pg ? run.pg->allreduce_sum(v) : v; };
  auto any_rank = [&](bool v) { return run.pg ? run.pg->allreduce_sum(v ? 1.0 : 0.0) > 0 : v; };

  // --- run folder ---------------------------------------------------------------------------
  if (resuming) {
    run.dir = resume_run_dir(options.resume_from);
  } else if (run.leader) {
    run.dir = make_run_dir(options.outdir, cfg.name, options.desc);
  }
  // One trainer per run folder, taken before anything is written into it.
  std::optional<RunLock> run_lock;
  if (run.leader) run_lock.emplace(run.dir);
  struct LogFileScope {
    bool active = false;
    ~LogFileScope() {
      if (active) remove_log_file();
    }
  } log_scope;
  if (run.leader) {
    fs::create_directories(fs::path(run.dir) / "checkpoints");
    add_log_file((fs::path(run.dir) / "log.txt").string());
    log_scope.active = true;
    spdlog::info("{} run folder {}", resuming ? "resuming in" : "new", run.dir);
    spdlog::info("{}", runtime_description());
    if (run.pg) spdlog::info("distributed: {} processes ({})", dist.world_size, run.pg->backend());
    write_file_atomic((fs::path(run.dir) / "config.yaml").string(), to_yaml(cfg));
  }

  // --- data ---------------------------------------------------------------------------------
  run.dataset = make_dataset(cfg.data);
  spdlog::info("data: {}", run.dataset->describe());
  if (run.leader && run.dataset->num_classes() > 0) {
    save_class_names(*run.dataset, (fs::path(run.dir) / "classes.json").string());
  }
  run.loader = std::make_unique<Loader>(run.dataset, transform_options(cfg.data),
                                        loader_options(cfg, dist.rank, dist.world_size));
  run.shape = {cfg.data.resolution, cfg.data.channels,
               cfg.model.conditional ? run.dataset->num_classes() : 0};
  run.progress.num_classes = run.shape.num_classes;

  // --- networks and optimisers --------------------------------------------------------------
  run.g = make_generator(cfg.model, run.shape);
  run.d = make_discriminator(cfg.model, run.shape);
  run.g_ema = make_generator(cfg.model, run.shape);
  run.g->to(run.device);
  run.d->to(run.device);
  run.g_ema->to(run.device);
  if (run.pg) {
    // Every rank starts from rank 0's weights (they agree anyway: same seed).
    run.pg->broadcast_parameters(*run.g);
    run.pg->broadcast_parameters(*run.d);
  }
  copy_module_state(*run.g_ema, *run.g);
  run.g_ema->eval();
  set_requires_grad(*run.g_ema, false);
  spdlog::info("G {} params, D {} params", count_parameters(*run.g), count_parameters(*run.d));
  run.opt_g = std::make_unique<torch::optim::Adam>(
      run.g->parameters(),
      torch::optim::AdamOptions(cfg.optim.lr_g).betas({cfg.optim.beta1_g, cfg.optim.beta2_g}));
  run.opt_d = std::make_unique<torch::optim::Adam>(
      run.d->parameters(),
      torch::optim::AdamOptions(cfg.optim.lr_d).betas({cfg.optim.beta1_d, cfg.optim.beta2_d}));

  if (resuming) {
    CheckpointInfo info = read_checkpoint_info(options.resume_from);
    run.progress = info.progress;
    if (run.leader) {
      // Rows and temporaries a crash left from beyond the checkpoint would otherwise be
      // doubled; nothing has appended to the logs yet.
      trim_run_logs(run.dir, run.progress.step);
      remove_stale_temp_files(run.dir);
    }
    load_checkpoint(options.resume_from, run.parts(), /*restore_rng=*/true, run.device);
    run.set_learning_rates();
    run.loader->seek({run.progress.loader_epoch, run.progress.loader_batch});
    run.last_checkpoint = options.resume_from;
    spdlog::info("resumed from {} at step {} ({:.3f} kimg)", options.resume_from, run.progress.step,
                 run.progress.nimg / 1000.0);
  }

  // Every rank draws the random inputs of the whole (global) batch from the same RNG stream and
  // uses its own share, so N ranks compute what one process would with the full batch. Sample i
  // of rank r is sample r + i * W of the global batch, the position the loader gives rank r's
  // i-th real image (loader_options), so a rank's latents, labels, augmentation parameters and
  // GP weights belong to the same global samples as its real images. Per micro-batch (accumulate
  // splits each rank's share, and micro-batch k of all ranks together is micro-batch k of one
  // process) DiffAugment and GP draw for W x micro samples and keep theirs (BatchRows); with one
  // process that is exactly the draws of the micro-batch itself.
  const int64_t batch = cfg.train.batch_size;
  const int64_t local = batch / dist.world_size;
  const int64_t micro = local / cfg.train.accumulate;
  const BatchRows micro_rows{micro * dist.world_size, dist.rank, dist.world_size};
  auto my_share = [&](const torch::Tensor& all) {
    return all.defined() ? all.slice(0, dist.rank, batch, dist.world_size) : all;
  };
  auto rows_of = [&](const torch::Tensor& t, int64_t start) {
    return t.defined() ? t.slice(0, start, start + micro) : t;
  };
  if (local * dist.world_size != batch || micro * cfg.train.accumulate != local) {
    throw ConfigError(cfg.where("train.batch_size") + "train.batch_size (" + std::to_string(batch) +
                      ") must divide into WORLD_SIZE (" + std::to_string(dist.world_size) +
                      ") x train.accumulate (" + std::to_string(cfg.train.accumulate) +
                      ") equal parts");
  }
  // The D step's settings without and with its (lazy) regulariser, built once.
  DiscriminatorStepSettings d_settings;
  d_settings.loss_type = cfg.loss.type;
  d_settings.diffaugment = cfg.augment.diffaugment;
  d_settings.rows = micro_rows;
  DiscriminatorStepSettings d_settings_reg = d_settings;
  d_settings_reg.r1_weight = cfg.loss.r1_gamma * 0.5 * cfg.loss.reg_interval;
  d_settings_reg.gp_weight = cfg.loss.gp_lambda * cfg.loss.reg_interval;
  const int64_t target_nimg = int64_t(std::llround(cfg.train.kimg * 1000.0));
  auto done = [&] {
    return cfg.train.kimg > 0 ? run.progress.nimg >= target_nimg
                              : run.progress.step >= cfg.train.steps;
  };
  const std::string stats_path = (fs::path(run.dir) / "stats.jsonl").string();

  if (!resuming && run.leader) {
    // Real samples and the untrained generator, for comparison with later grids.
    const int64_t n = int64_t(cfg.train.grid_size) * cfg.train.grid_size;
    std::vector<torch::Tensor> reals;
    int64_t have = 0;
    Loader preview(run.dataset, transform_options(cfg.data),
                   loader_options(cfg).workers(0).shuffle(true).drop_last(false));
    while (have < n && have < int64_t(run.dataset->size())) {
      torch::Tensor images = preview.next().images;
      reals.push_back(images);
      have += images.size(0);
    }
    save_image_grid((fs::path(run.dir) / "reals.png").string(), torch::cat(reals).slice(0, 0, n),
                    cfg.train.grid_size);
    save_fakes(run, "fakes_init.png");
  }

  const bool tty = isatty(STDERR_FILENO) != 0;
  auto kimg_of = [](int64_t nimg) { return double(nimg) / 1000.0; };
  auto next_boundary = [](int64_t nimg, double every_kimg) {
    const int64_t every = std::max<int64_t>(1, int64_t(std::llround(every_kimg * 1000.0)));
    return (nimg / every + 1) * every;
  };
  int64_t next_tick = next_boundary(run.progress.nimg, cfg.train.tick_kimg);
  int64_t next_snapshot = next_boundary(run.progress.nimg, cfg.train.snapshot_kimg);
  int64_t next_sample = next_boundary(run.progress.nimg, cfg.train.sample_kimg);
  int64_t next_metric = cfg.metrics.every_kimg > 0
                            ? next_boundary(run.progress.nimg, cfg.metrics.every_kimg)
                            : std::numeric_limits<int64_t>::max();
  const auto g_params = run.g->parameters();
  const auto d_params = run.d->parameters();
  TickStats tick;
  using clock = std::chrono::steady_clock;
  auto tick_start = clock::now();
  const auto run_start = clock::now();
  const int64_t start_nimg = run.progress.nimg;
  int64_t tick_start_nimg = run.progress.nimg;
  double tick_wait_start = run.loader->wait_seconds();
  int64_t d_steps_total = run.progress.step * cfg.train.n_critic;
  int rollbacks = 0;

  // In-training evaluation, on every rank (the hook shares the work through run.pg). The
  // checkpoint is rank 0's (empty elsewhere). Rank 0's values decide "best" on every rank.
  auto run_evaluation = [&](const std::string& checkpoint) {
    if (!g_eval_hook || cfg.metrics.names.empty()) return;
    // G_ema as rank 0 checkpointed it. Parameters agree on every rank already; batch-norm
    // buffers are per rank, so rank 0's are broadcast (G_ema's buffers are copied from G at the
    // next EMA update anyway).
    if (run.pg) run.pg->broadcast_parameters(*run.g_ema);
    run.g_ema->eval();
    LoadedGenerator generator;
    generator.cfg = run.cfg;
    generator.shape = run.shape;
    generator.g = run.g_ema;
    generator.step = run.progress.step;
    generator.kimg = kimg_of(run.progress.nimg);
    TrainEvalRequest request;
    request.run_dir = run.leader ? run.dir : std::string();
    request.checkpoint = checkpoint;
    request.kimg = kimg_of(run.progress.nimg);
    request.step = run.progress.step;
    request.generator = &generator;
    request.pg = run.pg.get();
    if (!run.pg) request.should_stop = [] { return stop_signal() != 0; };
    std::map<std::string, double> values;
    {
      // Whatever the evaluation draws must not move the training stream (the checkpoint just
      // written holds the state from before it; resuming from it must continue identically).
      auto gen = at::detail::getDefaultCPUGenerator();
      torch::Tensor rng_state;
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        rng_state = gen.get_state();
      }
      values = g_eval_hook(request);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng_state);
    }
    if (cfg.metrics.best.empty()) return;
    const bool mine = run.leader && values.count(cfg.metrics.best) > 0;
    bool have = mine;
    double v = mine ? values[cfg.metrics.best] : 0.0;
    if (run.pg) {
      // Rank 0's value, on every rank, so their progress (has_best, best_value) stays identical.
      have = run.pg->allreduce_sum(mine ? 1.0 : 0.0) > 0;
      v = run.pg->allreduce_sum(v);
    }
    if (!have) return;
    // Every supported "best" metric is lower-is-better except IS, precision, recall,
    // density, coverage and class accuracy.
    const bool higher = cfg.metrics.best == "is" || cfg.metrics.best == "pr" ||
                        cfg.metrics.best == "dc" || cfg.metrics.best == "class_acc";
    if (!run.progress.has_best ||
        (higher ? v > run.progress.best_value : v < run.progress.best_value)) {
      run.progress.has_best = true;
      run.progress.best_value = v;
      if (run.leader) {
        copy_file_atomic(checkpoint, (fs::path(run.dir) / "checkpoints" / "best.pt").string());
        spdlog::info("new best {} = {:.4f}", cfg.metrics.best, v);
      }
    }
  };

  // A run stopped or killed during an evaluation left its checkpoint without the metric row;
  // the resume computes it first (the same values: the evaluation depends only on G_ema).
  if (resuming && g_eval_hook && !cfg.metrics.names.empty()) {
    const bool missing =
        run.leader && metric_row_missing(run.dir, cfg.metrics, run.progress.nimg, done());
    if (any_rank(missing)) {
      spdlog::info("redoing the evaluation of {} (its metric row is missing)", run.last_checkpoint);
      run_evaluation(run.last_checkpoint);
    }
  }

  // A signal during start-up: stop before the first step (a new run still gets its step-0
  // checkpoint below, so it can be resumed).
  bool stop = any_rank(stop_signal() != 0);
  if (stop) spdlog::warn("stopped by signal {} before the first step", stop_signal());

  // --- the loop -----------------------------------------------------------------------------
  while (!stop && !done()) {
    // D steps.
    set_requires_grad(*run.d, true);
    double loss_d_step = 0, d_real_step = 0, d_fake_step = 0, reg_step = 0;
    for (int critic = 0; critic < cfg.train.n_critic; ++critic) {
      Batch real_batch = run.loader->next();
      torch::Tensor reals = real_batch.images.to(run.device);
      torch::Tensor real_labels = real_batch.labels.to(run.device);
      const bool regularise = (d_steps_total % cfg.loss.reg_interval) == 0 &&
                              (cfg.loss.r1_gamma > 0 || cfg.loss.gp_lambda > 0);
      run.opt_d->zero_grad();
      const torch::Tensor z_mine = my_share(torch::randn({batch, run.g->z_dim()}, run.device));
      const torch::Tensor fake_labels_mine = my_share(run.sample_labels(batch));
      // A short last batch (data.drop_last: false) has fewer reals than `local`; its fakes
      // are as many, so every real/fake pair (and GP interpolate) lines up.
      const int64_t have = reals.size(0);
      for (int64_t start = 0; start < have; start += micro) {
        const int64_t rows = std::min(micro, have - start);
        DiscriminatorStepInputs in;
        in.real = reals.slice(0, start, start + rows);
        if (cfg.model.conditional) in.real_labels = real_labels.slice(0, start, start + rows);
        in.z = z_mine.slice(0, start, start + rows);
        if (fake_labels_mine.defined())
          in.fake_labels = fake_labels_mine.slice(0, start, start + rows);
        const DiscriminatorStepTerms t =
            discriminator_step_terms(*run.g, *run.d, regularise ? d_settings_reg : d_settings, in);
        ((t.loss + t.reg) / double(cfg.train.accumulate)).backward();
        loss_d_step += t.loss.item<double>() / cfg.train.accumulate;
        reg_step += t.reg.item<double>() / cfg.train.accumulate;
        d_real_step += t.real_logits.mean().item<double>() / cfg.train.accumulate;
        d_fake_step += t.fake_logits.mean().item<double>() / cfg.train.accumulate;
      }
      if (run.pg) run.pg->allreduce_gradients(d_params);
      if (critic == cfg.train.n_critic - 1) tick.gnorm_d += grad_norm(d_params);
      run.opt_d->step();
      ++d_steps_total;
      if (regularise) ++tick.reg_steps;
      // Images actually shown: a short last batch counts what it held, over all ranks (every
      // rank takes the same branch: the collective must be called by all or none).
      run.progress.nimg +=
          cfg.data.drop_last ? batch : int64_t(std::llround(global_sum(double(have))));
    }

    // G step; D's parameters need no gradient here.
    set_requires_grad(*run.d, false);
    run.opt_g->zero_grad();
    double loss_g_step = 0;
    const torch::Tensor z_mine = my_share(torch::randn({batch, run.g->z_dim()}, run.device));
    const torch::Tensor labels_mine = my_share(run.sample_labels(batch));
    for (int64_t start = 0; start < local; start += micro) {
      torch::Tensor labels = rows_of(labels_mine, start);
      torch::Tensor fake = run.g->forward(rows_of(z_mine, start), labels);
      torch::Tensor logits =
          run.d->forward(diff_augment(fake, cfg.augment.diffaugment, micro_rows), labels);
      torch::Tensor loss = g_loss(cfg.loss.type, logits);
      (loss / double(cfg.train.accumulate)).backward();
      loss_g_step += loss.item<double>() / cfg.train.accumulate;
    }
    if (run.pg) run.pg->allreduce_gradients(g_params);
    tick.gnorm_g += grad_norm(g_params);

    if (crash_point("nan_loss")) loss_g_step = std::nan("");  // test-only fault injection
    const double mean_loss_d = loss_d_step / cfg.train.n_critic;
    // Every rank must take the same branch, or the next collective would hang.
    if (any_rank(!std::isfinite(mean_loss_d) || !std::isfinite(loss_g_step) ||
                 !std::isfinite(reg_step))) {
      const std::string what = "non-finite loss at step " + std::to_string(run.progress.step + 1) +
                               " (loss_d " + std::to_string(mean_loss_d) + ", loss_g " +
                               std::to_string(loss_g_step) + ")";
      if (cfg.train.on_nan == "rollback" && !run.last_checkpoint.empty() && rollbacks < 3) {
        ++rollbacks;
        const double lr_scale = run.progress.lr_scale * 0.5;  // cumulative over rollbacks
        run.progress = read_checkpoint_info(run.last_checkpoint).progress;
        load_checkpoint(run.last_checkpoint, run.parts(), true, run.device);
        run.progress.lr_scale = lr_scale;
        run.set_learning_rates();
        run.loader->seek({run.progress.loader_epoch, run.progress.loader_batch});
        d_steps_total = run.progress.step * cfg.train.n_critic;
        // The rows since that checkpoint are trained again: drop them, restart the tick.
        trim_run_logs(run.dir, run.progress.step);
        next_tick = next_boundary(run.progress.nimg, cfg.train.tick_kimg);
        tick_start = clock::now();
        tick_start_nimg = run.progress.nimg;
        tick_wait_start = run.loader->wait_seconds();
        spdlog::warn("{}: rolled back to {} with learning rates x{}", what, run.last_checkpoint,
                     run.progress.lr_scale);
        tick.clear();
        continue;
      }
      throw std::runtime_error(
          what + "; stopping (train.on_nan: " + cfg.train.on_nan +
          (rollbacks > 0 ? ", after " + std::to_string(rollbacks) + " rollbacks" : std::string()) +
          ")" +
          (run.last_checkpoint.empty() ? "" : "; last good checkpoint: " + run.last_checkpoint));
    }
    run.opt_g->step();
    ++run.progress.step;

    // EMA of G.
    const double beta = cfg.train.ema_kimg > 0 ? ema_beta(batch, cfg.train.ema_kimg,
                                                          cfg.train.ema_rampup, run.progress.nimg)
                                               : 0.0;
    ema_update(*run.g_ema, *run.g, beta);

    tick.loss_d += mean_loss_d;
    tick.loss_g += loss_g_step;
    tick.d_real += d_real_step / cfg.train.n_critic;
    tick.d_fake += d_fake_step / cfg.train.n_critic;
    tick.reg += reg_step / cfg.train.n_critic;
    ++tick.steps;

    const bool finished = done();
    stop = any_rank(stop_signal() != 0);

    // Tick: stats line and progress.
    if (run.progress.nimg >= next_tick || finished || stop) {
      next_tick = next_boundary(run.progress.nimg, cfg.train.tick_kimg);
      const double secs = std::chrono::duration<double>(clock::now() - tick_start).count();
      const double imgs = double(run.progress.nimg - tick_start_nimg);
      const double wait = run.loader->wait_seconds() - tick_wait_start;
      const double n = double(std::max<int64_t>(1, tick.steps));
      const double total_secs = std::chrono::duration<double>(clock::now() - run_start).count();
      const double rate_total = double(run.progress.nimg - start_nimg) / std::max(total_secs, 1e-9);
      const double remaining =
          cfg.train.kimg > 0 ? double(target_nimg - run.progress.nimg) / std::max(rate_total, 1e-9)
                             : double(cfg.train.steps - run.progress.step) * total_secs /
                                   std::max<double>(1, double(run.progress.step));
      tick.loss_d = global_mean(tick.loss_d);
      tick.loss_g = global_mean(tick.loss_g);
      tick.reg = global_mean(tick.reg);
      tick.d_real = global_mean(tick.d_real);
      tick.d_fake = global_mean(tick.d_fake);
      nlohmann::json j = {
          {"step", run.progress.step},
          {"kimg", kimg_of(run.progress.nimg)},
          {"loss_d", tick.loss_d / n},
          {"loss_g", tick.loss_g / n},
          {"loss_reg", tick.reg / n},
          {"d_real", tick.d_real / n},
          {"d_fake", tick.d_fake / n},
          {"grad_norm_d", tick.gnorm_d / n},
          {"grad_norm_g", tick.gnorm_g / n},
          {"lr_g", cfg.optim.lr_g * run.progress.lr_scale},
          {"lr_d", cfg.optim.lr_d * run.progress.lr_scale},
          {"ema_beta", beta},
          {"sec_per_kimg", imgs > 0 ? secs / (imgs / 1000.0) : 0.0},
          {"img_per_s", secs > 0 ? imgs / secs : 0.0},
          {"data_wait_share", secs > 0 ? wait / secs : 0.0},
          {"peak_rss_mb", peak_rss_mb()},
          {"timestamp", double(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()) /
                            1000.0}};
      if (run.leader) append_line(stats_path, j.dump());
      char line[256];
      std::snprintf(line, sizeof(line),
                    "step %lld  kimg %.2f  %.0f img/s  ETA %s  loss_d %.4f  loss_g %.4f  "
                    "D(real) %.3f  D(fake) %.3f",
                    (long long)run.progress.step, kimg_of(run.progress.nimg),
                    j["img_per_s"].get<double>(), format_duration(remaining).c_str(),
                    tick.loss_d / n, tick.loss_g / n, tick.d_real / n, tick.d_fake / n);
      if (tty && run.leader) {
        std::fprintf(stderr, "\r\033[K%s", line);
        std::fflush(stderr);
        spdlog::debug("{}", line);
      } else {
        spdlog::info("{}", line);
      }
      tick.clear();
      tick_start = clock::now();
      tick_start_nimg = run.progress.nimg;
      tick_wait_start = run.loader->wait_seconds();
    }
    if (run.leader && (run.progress.nimg >= next_sample || finished)) {
      next_sample = next_boundary(run.progress.nimg, cfg.train.sample_kimg);
      char name[64];
      std::snprintf(name, sizeof(name), "fakes%06lld.png", (long long)(run.progress.nimg / 1000));
      save_fakes(run, name);
    }
    const bool metric_due = run.progress.nimg >= next_metric;
    if (run.progress.nimg >= next_snapshot || finished || stop || metric_due) {
      if (tty && run.leader) std::fputc('\n', stderr);
      next_snapshot = next_boundary(run.progress.nimg, cfg.train.snapshot_kimg);
      const std::string ckpt = run.leader ? run.write_checkpoint() : std::string();
      // Every rank evaluates its share (see run_evaluation); the decision is the same on all.
      if (metric_due || (finished && !cfg.metrics.names.empty())) {
        try {
          run_evaluation(ckpt);
        } catch (const Interrupted&) {
          // The checkpoint is written; `--resume` computes the missing metric row first.
          spdlog::warn("evaluation at {:.2f} kimg interrupted by signal {}; a resume redoes it",
                       kimg_of(run.progress.nimg), stop_signal());
          stop = true;
        }
      }
      if (metric_due) next_metric = next_boundary(run.progress.nimg, cfg.metrics.every_kimg);
      if (run.pg) run.pg->barrier();  // the others wait while rank 0 writes
    }
    if (stop) {
      if (run.leader) {
        spdlog::warn("stopped by signal {} at step {}; checkpoint {}", stop_signal(),
                     run.progress.step, run.last_checkpoint);
      }
      break;
    }
  }
  if (tty && run.leader) std::fputc('\n', stderr);
  if (run.leader && run.last_checkpoint.empty()) run.write_checkpoint();
  if (run.pg) run.pg->barrier();

  TrainResult result;
  result.run_dir = run.dir;
  result.last_checkpoint = run.last_checkpoint;
  result.step = run.progress.step;
  result.nimg = run.progress.nimg;
  result.interrupted = stop_signal() != 0;
  return result;
}

}  // namespace gan
