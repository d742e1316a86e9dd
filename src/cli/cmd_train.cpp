// gan train: start a run from a config, or continue one with --resume latest|PATH.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"
#include "src/core/process_group.h"
#include "src/core/stop_signal.h"
#include "src/train/checkpoint.h"
#include "src/train/component_catalog.h"
#include "src/train/init_weights.h"
#include "src/train/launcher.h"
#include "src/train/trainer.h"

namespace gan::cli {

int run_train(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Train a GAN. Interrupt with Ctrl-C (a checkpoint is "
                           "written) and continue with --resume latest.");
  add_common_options(options);
  add_config_options(options);
  options.add_options("Run")("o,outdir", "Folder that holds the run folders",
                             cxxopts::value<std::string>()->default_value("runs"))(
      "r,resume",
      "Continue a run: 'latest' (newest valid checkpoint under --outdir, of --config's runs "
      "- exactly that name - when given), a run folder, or a checkpoint file inside a run "
      "folder (<run>/checkpoints/*.pt; the run continues in <run>). Corrupt checkpoints are "
      "passed over with a warning. The checkpoint's config is used; --set still applies.",
      cxxopts::value<std::string>())(
      "init",
      "Start a new run from the networks of a checkpoint or of a StyleGAN2 export "
      "(scripts/export_stylegan2_pkl.py): G, D and G_ema are copied, optimisers, counters and "
      "augmentation start fresh (transfer learning, as NVIDIA's --resume=<pkl>). Without "
      "--config the run uses the checkpoint's config; --set still applies.",
      cxxopts::value<std::string>())("desc", "Suffix of the run folder name",
                                     cxxopts::value<std::string>()->default_value(""))(
      "nproc",
      "Start N local processes (data-parallel over c10d, like torchrun); without it, RANK/"
      "WORLD_SIZE/MASTER_ADDR/MASTER_PORT from the environment are used",
      cxxopts::value<int>());
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  if (args->count("nproc") && !std::getenv("RANK")) {
    // Relaunch this binary N times with the same arguments minus --nproc.
    std::vector<std::string> child = {"/proc/self/exe"};
    for (int i = 0; i < argc; ++i) {
      const std::string a = argv[i];
      if (i == 0) {
        child.push_back("train");
      } else if (a == "--nproc") {
        ++i;
      } else if (a.rfind("--nproc=", 0) != 0) {
        child.push_back(a);
      }
    }
    return spawn_local_processes((*args)["nproc"].as<int>(), child);
  }

  // Before anything slow (config, data, networks): a signal from here on is a clean stop.
  const StopSignalScope stop_on_signal;
  TrainRunOptions run_options;
  run_options.outdir = (*args)["outdir"].as<std::string>();
  run_options.desc = (*args)["desc"].as<std::string>();
  Config cfg;
  if (args->count("resume") && args->count("init")) {
    throw UsageError("--init starts a new run and --resume continues one: give one of them");
  }
  if (args->count("init")) {
    run_options.init_from = (*args)["init"].as<std::string>();
    if (!std::filesystem::exists(run_options.init_from)) {
      throw UsageError("--init " + run_options.init_from + ": no such file");
    }
  }
  if (args->count("init") && !args->count("config")) {
    cfg = init_source_config(run_options.init_from);
    if (args->count("set")) {
      for (const auto& o : (*args)["set"].as<std::vector<std::string>>()) apply_override(cfg, o);
      validate(cfg);
    }
  } else if (args->count("resume")) {
    std::string config_name;
    if (args->count("config")) {
      config_name = std::filesystem::path((*args)["config"].as<std::string>()).stem().string();
    }
    run_options.resume_from = find_resume_checkpoint((*args)["resume"].as<std::string>(),
                                                     run_options.outdir, config_name);
    CheckpointInfo info = read_checkpoint_info(run_options.resume_from);
    cfg = stored_config(info, run_options.resume_from + " (stored config)");
    if (args->count("set")) {
      for (const auto& o : (*args)["set"].as<std::vector<std::string>>()) apply_override(cfg, o);
      validate(cfg);
    }
  } else {
    cfg = config_from_args(*args);
  }
  validate_components(cfg);
  // Metrics every metrics.every_kimg on the checkpoint just written (detector built now, so
  // missing weights fail before training).
  run_options.evaluator = make_metrics_evaluator(cfg);

  TrainResult result = train(cfg, run_options);
  if (dist_env_from_environment().rank != 0) return 0;  // rank 0 reports
  std::cout << "run folder:  " << result.run_dir << "\n"
            << "checkpoint:  " << result.last_checkpoint << "\n"
            << "samples:     " << result.run_dir << "/fakes*.png\n"
            << "stats:       " << result.run_dir << "/stats.jsonl\n";
  if (result.interrupted) {
    std::cout << "interrupted at step " << result.step << "; continue with: gan train --resume "
              << result.run_dir << "\n";
  }
  return 0;
}

}  // namespace gan::cli
