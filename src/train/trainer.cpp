// The schedule of a training run: ticks, snapshots, sample grids, metrics, signals, the NaN
// policy and the distributed glue. The GAN itself is the objective's (objective.h), and one
// step of it is training_step.h's, which `gan bench` times as well.
#include "src/train/trainer.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "data/datasets.h"
#include "data/image_grid.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "models/networks.h"
#include "src/core/crash_point.h"
#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/core/logging.h"
#include "src/core/precision.h"
#include "src/core/process_group.h"
#include "src/core/runtime.h"
#include "src/core/sha256.h"
#include "src/core/stop_signal.h"
#include "src/metrics/metric_registry.h"
#include "src/train/augment.h"
#include "src/train/checkpoint.h"
#include "src/train/ema.h"
#include "src/train/init_weights.h"
#include "src/train/objective.h"
#include "src/train/pending_evaluation.h"
#include "src/train/resume_cleanup.h"
#include "src/train/run_folder.h"
#include "src/train/run_lock.h"
#include "src/train/stylegan2_preset.h"
#include "src/train/training_step.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

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

double kimg_of(int64_t nimg) {
  return double(nimg) / 1000.0;
}

// The first multiple of `every_kimg` after nimg.
int64_t next_boundary(int64_t nimg, double every_kimg) {
  const int64_t every = std::max<int64_t>(1, int64_t(std::llround(every_kimg * 1000.0)));
  return (nimg / every + 1) * every;
}

// Everything one run holds: config, data, networks, objective, optimisers and progress.
struct TrainingRun {
  Config cfg;
  c10::Device device{c10::kCPU};
  Precision precision = Precision::fp32;
  DistEnv dist;
  std::unique_ptr<ProcessGroup> pg;  // null in a single-process run
  bool leader = true;                // rank 0: the only rank that writes files
  std::string dir;
  std::shared_ptr<Dataset> dataset;
  std::unique_ptr<Loader> loader;
  NetworkShape shape;
  std::shared_ptr<GeneratorImpl> g, g_ema;
  std::shared_ptr<DiscriminatorImpl> d;
  std::unique_ptr<Objective> objective;
  std::unique_ptr<Augment> augment;
  std::unique_ptr<TrainingStep> step;
  TrainProgress progress;
  std::string last_checkpoint;
  std::shared_ptr<TrainEvaluator> evaluator;  // null: no in-training evaluation

  CheckpointParts parts() {
    return {g.get(),       d.get(),        g_ema.get(), &step->optimizer_g(), &step->optimizer_d(),
            augment.get(), objective.get()};
  }

  // Collectives over the ranks; identities in one process.
  double global_sum(double v) const { return pg ? pg->allreduce_sum(v) : v; }
  double global_mean(double v) const { return global_sum(v) / double(dist.world_size); }
  bool any_rank(bool v) const { return pg ? pg->allreduce_sum(v ? 1.0 : 0.0) > 0 : v; }

  bool done() const {
    return cfg.train.kimg > 0 ? progress.nimg >= int64_t(std::llround(cfg.train.kimg * 1000.0))
                              : progress.step >= cfg.train.steps;
  }
};

std::string write_checkpoint(TrainingRun& run) {
  LoaderPosition pos = run.loader->position();
  run.progress.loader_epoch = pos.epoch;
  run.progress.loader_batch = pos.batch;
  const std::string path = checkpoint_path(run.dir, run.progress.step);
  save_checkpoint(path, run.cfg, run.parts(), run.progress);
  run.last_checkpoint = path;
  // Keep the newest K; never delete the one just written or best.pt.
  auto all = list_checkpoints(run.dir);
  for (size_t i = size_t(run.cfg.train.keep_checkpoints); i < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);
  }
  spdlog::info("checkpoint {}", path);
  return path;
}

// Restores networks, optimisers, RNG, progress and loader position from `path`, whose
// progress was read already (reading verifies the whole file; once is enough).
void restore_checkpoint(TrainingRun& run, const std::string& path, const TrainProgress& progress) {
  const std::string precision = precision_name(run.precision);
  if (progress.precision != precision) {
    spdlog::warn(
        "{} was trained in {}, this run continues in {} (runtime.precision: {}): the "
        "resume is not bit-exact",
        path, progress.precision, precision, run.cfg.runtime.precision);
  }
  run.progress = progress;
  run.progress.precision = precision;
  load_checkpoint(path, run.parts(), /*restore_rng=*/true, run.device);
  run.step->set_learning_rate_scale(run.progress.lr_scale);
  run.loader->seek({run.progress.loader_epoch, run.progress.loader_batch});
  run.last_checkpoint = path;
}

// A new run's networks from an earlier run or an export (`gan train --init`), recorded in the
// log and in init.json beside config.yaml.
void init_from(TrainingRun& run, const std::string& path) {
  const InitSource src = init_networks(path, run.cfg, run.parts(), run.device);
  std::string nets;
  for (const auto& n : src.loaded) nets += (nets.empty() ? "" : ", ") + n;
  spdlog::info(
      "networks {} from --init {} (step {}, {:.3f} kimg); optimisers, counters and "
      "augmentation start fresh",
      nets, path, src.step, src.kimg);
  if (!run.leader) return;
  nlohmann::json j;
  j["path"] = fs::absolute(path).string();
  j["sha256"] = sha256_file_hex(path);
  j["networks"] = src.loaded;
  j["step"] = src.step;
  j["kimg"] = src.kimg;
  write_file_atomic((fs::path(run.dir) / "init.json").string(), j.dump(2) + "\n");
}

// Fixed latents (and labels) for the sample grids: drawn from their own generator so they do
// not disturb the training RNG stream.
std::pair<torch::Tensor, torch::Tensor> grid_inputs(const TrainingRun& run) {
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

void save_fakes(TrainingRun& run, const std::string& name) {
  torch::NoGradGuard no_grad;
  auto [z, labels] = grid_inputs(run);
  run.g_ema->eval();
  torch::Tensor images = run.g_ema->forward(z, labels);
  save_image_grid((fs::path(run.dir) / name).string(), images, run.cfg.train.grid_size);
}

// reals.png and fakes_init.png, for comparison with later grids.
void save_first_grids(TrainingRun& run) {
  const Config& cfg = run.cfg;
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

// The run folder (new, or the checkpoint's), its lock, log file and config.yaml.
class RunFolderScope {
 public:
  RunFolderScope(TrainingRun& run, const TrainRunOptions& options) {
    const bool resuming = !options.resume_from.empty();
    if (resuming) {
      run.dir = resume_run_dir(options.resume_from);
    } else if (run.leader) {
      run.dir = make_run_dir(options.outdir, run.cfg.name, options.desc);
    }
    if (!run.leader) return;
    // One trainer per run folder, taken before anything is written into it.
    lock_.emplace(run.dir);
    fs::create_directories(fs::path(run.dir) / "checkpoints");
    add_log_file((fs::path(run.dir) / "log.txt").string());
    log_active_ = true;
    spdlog::info("{} run folder {}", resuming ? "resuming in" : "new", run.dir);
    spdlog::info("{}", runtime_description());
    if (run.pg) {
      spdlog::info("distributed: {} processes ({})", run.dist.world_size, run.pg->backend());
    }
    write_file_atomic((fs::path(run.dir) / "config.yaml").string(), to_yaml(run.cfg));
  }
  ~RunFolderScope() {
    if (log_active_) remove_log_file();
  }

 private:
  std::optional<RunLock> lock_;
  bool log_active_ = false;
};

void join_process_group(TrainingRun& run) {
  run.dist = dist_env_from_environment();
  if (!run.dist.active()) return;
  const Config& cfg = run.cfg;
  if (cfg.train.on_nan == "rollback") {
    throw ConfigError(cfg.where("train.on_nan") +
                      "train.on_nan: rollback is not supported with WORLD_SIZE > 1 (use stop)");
  }
  if (run.device.is_cuda()) {
    run.device = c10::Device(c10::kCUDA, c10::DeviceIndex(run.dist.local_rank));
  }
  const DistTimeouts timeouts = dist_timeouts_from_environment(
      cfg.runtime.dist_timeout_s, cfg.runtime.dist_rendezvous_timeout_s);
  run.pg = std::make_unique<ProcessGroup>(run.dist, run.device, timeouts.collective,
                                          timeouts.rendezvous);
  run.leader = run.dist.rank == 0;
  // One rank speaks; the others only report problems.
  if (!run.leader) spdlog::set_level(spdlog::level::warn);
}

void open_data(TrainingRun& run) {
  const Config& cfg = run.cfg;
  run.dataset = make_dataset(cfg.data);
  spdlog::info("data: {}", run.dataset->describe());
  if (run.leader && run.dataset->num_classes() > 0) {
    save_class_names(*run.dataset, (fs::path(run.dir) / "classes.json").string());
  }
  run.loader = std::make_unique<Loader>(run.dataset, transform_options(cfg.data),
                                        loader_options(cfg, run.dist.rank, run.dist.world_size));
  run.shape = {cfg.data.resolution, cfg.data.channels,
               cfg.model.conditional ? run.dataset->num_classes() : 0};
  run.progress.num_classes = run.shape.num_classes;
}

// Networks, objective, augmentation and the step (with its optimisers). Every rank draws the
// random inputs of the whole (global) batch from the same RNG stream and uses its own share, so
// N ranks compute what one process would with the full batch (training_step.cpp).
void build_training(TrainingRun& run) {
  const Config& cfg = run.cfg;
  const int64_t batch = cfg.train.batch_size;
  const int world = run.dist.world_size;
  if (batch % (int64_t(world) * cfg.train.accumulate) != 0) {
    throw ConfigError(cfg.where("train.batch_size") + "train.batch_size (" + std::to_string(batch) +
                      ") must divide into WORLD_SIZE (" + std::to_string(world) +
                      ") x train.accumulate (" + std::to_string(cfg.train.accumulate) +
                      ") equal parts");
  }
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
  for (auto& p : run.g_ema->parameters()) p.set_requires_grad(false);
  spdlog::info("G {} params, D {} params", count_parameters(*run.g), count_parameters(*run.d));
  run.objective = make_objective(cfg.loss);
  run.augment = make_augment(cfg.augment);
  TrainingStepOptions options;
  options.batch_size = batch;
  options.n_critic = cfg.train.n_critic;
  options.accumulate = cfg.train.accumulate;
  options.share_fakes = cfg.train.share_fakes;
  options.rank = run.dist.rank;
  options.world_size = world;
  options.num_classes = run.shape.num_classes;
  options.drop_last = cfg.data.drop_last;
  options.device = run.device;
  options.precision = run.precision;
  run.progress.precision = precision_name(run.precision);
  run.step = std::make_unique<TrainingStep>(*run.g, *run.d, *run.objective, *run.augment,
                                            cfg.optim.g, cfg.optim.d, options);
  std::string phases;
  for (const auto& p : run.step->phases()) {
    phases += (phases.empty() ? "" : ", ") + p.name +
              (p.interval > 1 ? " every " + std::to_string(p.interval) : std::string());
  }
  spdlog::info("objective {}: phases {}; precision {}", cfg.loss.type, phases,
               precision_name(run.precision));
}

// In-training evaluation of the checkpoint just written, on every rank (the hook shares the
// work through run.pg; the checkpoint path is rank 0's, empty elsewhere). Rank 0's values decide
// "best" on every rank.
void evaluate_checkpoint(TrainingRun& run, const std::string& checkpoint) {
  const Config& cfg = run.cfg;
  if (!run.evaluator) return;
  // G_ema as rank 0 checkpointed it. Parameters agree on every rank already; batch-norm
  // buffers are per rank, so rank 0's are broadcast (G_ema's buffers are copied from G at the
  // next EMA update anyway).
  if (run.pg) run.pg->broadcast_parameters(*run.g_ema);
  run.g_ema->eval();
  TrainEvalRequest request;
  request.run_dir = run.leader ? run.dir : std::string();
  request.checkpoint = checkpoint;
  request.kimg = kimg_of(run.progress.nimg);
  request.step = run.progress.step;
  request.generator = {run.g_ema, run.shape, cfg.model.conditional};
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
    values = run.evaluator->evaluate(request);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng_state);
  }
  if (cfg.metrics.best.empty()) return;
  // metrics.best is tracked by its headline value (kid: kid_mean, prdc: coverage, ...) in the
  // spec's direction.
  const MetricSpec& best = metric_spec(cfg.metrics.best);
  const std::optional<double> headline =
      run.leader ? headline_value(cfg.metrics.best, values) : std::nullopt;
  if (run.leader && !headline) {
    spdlog::warn("metrics.best {}: the evaluation reported no '{}'; best.pt is not updated",
                 cfg.metrics.best, best.headline);
  }
  bool have = headline.has_value();
  double v = headline.value_or(0.0);
  if (run.pg) {
    // Rank 0's value, on every rank, so their progress (has_best, best_value) stays identical.
    have = run.pg->allreduce_sum(have ? 1.0 : 0.0) > 0;
    v = run.pg->allreduce_sum(v);
  }
  if (!have) return;
  if (!run.progress.has_best || best.better(v, run.progress.best_value)) {
    run.progress.has_best = true;
    run.progress.best_value = v;
    if (run.leader) {
      copy_file_atomic(checkpoint, (fs::path(run.dir) / "checkpoints" / "best.pt").string());
      spdlog::info("new best {} ({}) = {:.4f}", cfg.metrics.best, best.headline, v);
    }
  }
}

// A tick: the statistics gathered since the last one, a stats.jsonl row and a progress line.
class TickReporter {
 public:
  explicit TickReporter(TrainingRun& run)
      : run_(run),
        stats_path_((fs::path(run.dir) / "stats.jsonl").string()),
        tty_(isatty(STDERR_FILENO) != 0),
        run_start_(Clock::now()),
        start_nimg_(run.progress.nimg) {
    restart();
  }

  bool tty() const { return tty_; }
  void add(const StepStats& stats) {
    stats_.merge(stats);
    ++steps_;
  }

  // Drops what was gathered (a rollback trains those steps again).
  void restart() {
    stats_.clear();
    steps_ = 0;
    start_ = Clock::now();
    start_nimg_tick_ = run_.progress.nimg;
    wait_start_ = run_.loader->wait_seconds();
  }

  void report(double ema_beta) {
    const Config& cfg = run_.cfg;
    const TrainProgress& p = run_.progress;
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const double imgs = double(p.nimg - start_nimg_tick_);
    const double wait = run_.loader->wait_seconds() - wait_start_;
    const double total_secs = std::chrono::duration<double>(Clock::now() - run_start_).count();
    const double rate_total = double(p.nimg - start_nimg_) / std::max(total_secs, 1e-9);
    const double remaining =
        cfg.train.kimg > 0
            ? (cfg.train.kimg * 1000.0 - double(p.nimg)) / std::max(rate_total, 1e-9)
            : double(cfg.train.steps - p.step) * total_secs / std::max<double>(1, double(p.step));
    nlohmann::json j = {{"step", p.step}, {"kimg", kimg_of(p.nimg)}};
    // The objective's statistics, averaged over the ranks (the same names on every rank).
    std::vector<std::string> names = run_.objective->stat_names();
    names.push_back("grad_norm_d");
    names.push_back("grad_norm_g");
    for (const auto& name : names) j[name] = run_.global_mean(stats_.mean(name));
    for (const auto& [name, value] : run_.augment->stats()) j[name] = value;
    j["lr_g"] = run_.step->learning_rate_g();
    j["lr_d"] = run_.step->learning_rate_d();
    j["ema_beta"] = ema_beta;
    j["precision"] = precision_name(run_.precision);
    j["sec_per_kimg"] = imgs > 0 ? secs / (imgs / 1000.0) : 0.0;
    j["img_per_s"] = secs > 0 ? imgs / secs : 0.0;
    j["data_wait_share"] = secs > 0 ? wait / secs : 0.0;
    j["peak_rss_mb"] = peak_rss_mb();
    j["timestamp"] = double(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) /
                     1000.0;
    if (run_.leader) append_line(stats_path_, j.dump());
    char line[256];
    std::snprintf(line, sizeof(line),
                  "step %lld  kimg %.2f  %.0f img/s  ETA %s  loss_d %.4f  loss_g %.4f  "
                  "D(real) %.3f  D(fake) %.3f",
                  (long long)p.step, kimg_of(p.nimg), j["img_per_s"].get<double>(),
                  format_duration(remaining).c_str(), value(j, "loss_d"), value(j, "loss_g"),
                  value(j, "d_real"), value(j, "d_fake"));
    if (tty_ && run_.leader) {
      std::fprintf(stderr, "\r\033[K%s", line);
      std::fflush(stderr);
      spdlog::debug("{}", line);
    } else {
      spdlog::info("{}", line);
    }
    restart();
  }

 private:
  static double value(const nlohmann::json& j, const char* key) {
    return j.contains(key) ? j[key].get<double>() : 0.0;
  }

  TrainingRun& run_;
  std::string stats_path_;
  bool tty_;
  Clock::time_point run_start_, start_;
  int64_t start_nimg_, start_nimg_tick_ = 0;
  double wait_start_ = 0;
  StepStats stats_;
  int64_t steps_ = 0;
};

// A non-finite loss: rolls back to the last checkpoint with halved learning rates (returns
// true) or throws, per train.on_nan.
bool handle_non_finite(TrainingRun& run, const StepStats& stats, int& rollbacks) {
  const Config& cfg = run.cfg;
  const std::string what = "non-finite loss at step " + std::to_string(run.progress.step + 1) +
                           " (" + stats.describe() + ")";
  if (cfg.train.on_nan == "rollback" && !run.last_checkpoint.empty() && rollbacks < 3) {
    ++rollbacks;
    const double lr_scale = run.progress.lr_scale * 0.5;  // cumulative over rollbacks
    restore_checkpoint(run, run.last_checkpoint,
                       read_checkpoint_info(run.last_checkpoint).progress);
    run.progress.lr_scale = lr_scale;
    run.step->set_learning_rate_scale(lr_scale);
    // The rows since that checkpoint are trained again: drop them.
    trim_run_logs(run.dir, run.progress.step);
    spdlog::warn("{}: rolled back to {} with learning rates x{}", what, run.last_checkpoint,
                 run.progress.lr_scale);
    return true;
  }
  throw std::runtime_error(
      what + "; stopping (train.on_nan: " + cfg.train.on_nan +
      (rollbacks > 0 ? ", after " + std::to_string(rollbacks) + " rollbacks" : std::string()) +
      ")" + (run.last_checkpoint.empty() ? "" : "; last good checkpoint: " + run.last_checkpoint));
}

}  // namespace

TrainResult train(const Config& cfg_in, const TrainRunOptions& options) {
  // Before any work: a signal during start-up stops the run cleanly (see the loop's start).
  StopSignalScope signals(options.handle_signals);
  TrainingRun run;
  run.cfg = cfg_in;
  apply_objective_preset(run.cfg);  // idempotent: the CLI applied it already
  const Config& cfg = run.cfg;
  run.evaluator = options.evaluator;
  run.device = apply_runtime(cfg.runtime, cfg.where("runtime.device"));
  const bool resuming = !options.resume_from.empty();
  join_process_group(run);
  run.precision =
      resolve_precision(cfg.runtime.precision, run.device, cfg.where("runtime.precision"));
  RunFolderScope folder(run, options);
  open_data(run);
  build_training(run);

  if (resuming) {
    const TrainProgress progress = read_checkpoint_info(options.resume_from).progress;
    if (run.leader) {
      // Rows and temporaries a crash left from beyond the checkpoint would otherwise be
      // doubled; nothing has appended to the logs yet.
      trim_run_logs(run.dir, progress.step);
      remove_stale_temp_files(run.dir);
    }
    restore_checkpoint(run, options.resume_from, progress);
    spdlog::info("resumed from {} at step {} ({:.3f} kimg)", options.resume_from, run.progress.step,
                 kimg_of(run.progress.nimg));
  } else {
    if (!options.init_from.empty()) init_from(run, options.init_from);
    if (run.leader) save_first_grids(run);
  }

  int64_t next_tick = next_boundary(run.progress.nimg, cfg.train.tick_kimg);
  int64_t next_snapshot = next_boundary(run.progress.nimg, cfg.train.snapshot_kimg);
  int64_t next_sample = next_boundary(run.progress.nimg, cfg.train.sample_kimg);
  int64_t next_metric = cfg.metrics.every_kimg > 0
                            ? next_boundary(run.progress.nimg, cfg.metrics.every_kimg)
                            : std::numeric_limits<int64_t>::max();
  TickReporter ticks(run);
  int rollbacks = 0;

  // A run stopped or killed during an evaluation left its checkpoint without the metric row;
  // the resume computes it first (the same values: the evaluation depends only on G_ema).
  if (resuming && run.evaluator) {
    const bool missing =
        run.leader && metric_row_missing(run.dir, cfg.metrics, run.progress.nimg, run.done());
    if (run.any_rank(missing)) {
      spdlog::info("redoing the evaluation of {} (its metric row is missing)", run.last_checkpoint);
      evaluate_checkpoint(run, run.last_checkpoint);
    }
  }

  // A signal during start-up: stop before the first step (a new run still gets its step-0
  // checkpoint below, so it can be resumed).
  bool stop = run.any_rank(stop_signal() != 0);
  if (stop) spdlog::warn("stopped by signal {} before the first step", stop_signal());

  StepSync sync;
  if (run.pg) {
    sync.allreduce_gradients = [&run](const std::vector<torch::Tensor>& params) {
      run.pg->allreduce_gradients(params);
    };
    sync.global_sum = [&run](double v) { return run.pg->allreduce_sum(v); };
  }
  auto next_reals = [&run] { return run.loader->next(); };

  while (!stop && !run.done()) {
    StepResult r = run.step->run(run.progress.step, next_reals, sync);
    run.progress.nimg += r.images;
    if (crash_point("nan_loss")) r.stats.add("loss_g", std::nan(""));  // test-only fault
    // Every rank must take the same branch, or the next collective would hang.
    if (run.any_rank(!r.stats.all_finite())) {
      if (handle_non_finite(run, r.stats, rollbacks)) {
        next_tick = next_boundary(run.progress.nimg, cfg.train.tick_kimg);
        ticks.restart();
        continue;
      }
    }
    ++run.progress.step;

    // EMA of G.
    const double beta = cfg.train.ema_kimg > 0 ? ema_beta(cfg.train.batch_size, cfg.train.ema_kimg,
                                                          cfg.train.ema_rampup, run.progress.nimg)
                                               : 0.0;
    ema_update(*run.g_ema, *run.g, beta);
    ticks.add(r.stats);

    const bool finished = run.done();
    stop = run.any_rank(stop_signal() != 0);
    if (run.progress.nimg >= next_tick || finished || stop) {
      next_tick = next_boundary(run.progress.nimg, cfg.train.tick_kimg);
      ticks.report(beta);
    }
    if (run.leader && (run.progress.nimg >= next_sample || finished)) {
      next_sample = next_boundary(run.progress.nimg, cfg.train.sample_kimg);
      char name[64];
      std::snprintf(name, sizeof(name), "fakes%06lld.png", (long long)(run.progress.nimg / 1000));
      save_fakes(run, name);
    }
    const bool metric_due = run.progress.nimg >= next_metric;
    if (run.progress.nimg >= next_snapshot || finished || stop || metric_due) {
      if (ticks.tty() && run.leader) std::fputc('\n', stderr);
      next_snapshot = next_boundary(run.progress.nimg, cfg.train.snapshot_kimg);
      const std::string ckpt = run.leader ? write_checkpoint(run) : std::string();
      // Every rank evaluates its share (see evaluate_checkpoint); the decision is the same on all.
      if (metric_due || (finished && !cfg.metrics.names.empty())) {
        try {
          evaluate_checkpoint(run, ckpt);
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
  if (ticks.tty() && run.leader) std::fputc('\n', stderr);
  if (run.leader && run.last_checkpoint.empty()) write_checkpoint(run);
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
