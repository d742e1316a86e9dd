// `gan`: thin dispatch to one subcommand, and the one place where exceptions become exit codes
// (0 success, 1 runtime failure, 2 usage or configuration error).
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <string>

#include "src/cli/commands.h"
#include "src/core/blas_threads.h"
#include "src/core/errors.h"
#include "src/core/logging.h"
#include "src/core/malloc_tuning.h"
#include "src/train/component_catalog.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"train", gan::cli::run_train, "Train a GAN from a config (resumable)"},
    {"generate", gan::cli::run_generate, "Generate images from a checkpoint"},
    {"verify", gan::cli::run_verify,
     "Regenerate images from their provenance metadata and compare bit for bit"},
    {"import", gan::cli::run_import,
     "Turn NVIDIA's StyleGAN2-ADA networks (exported .pkl) into a gan checkpoint"},
    {"evaluate", gan::cli::run_evaluate, "Compute FID/KID/IS/PR/DC for checkpoints or folders"},
    {"audit", gan::cli::run_audit,
     "Audit generated images for training-set copying and class balance"},
    {"config", gan::cli::run_config, "Validate and print the resolved config (dry run)"},
    {"info", gan::cli::run_info, "Versions, device, threads, BLAS; networks of a config"},
    {"data", gan::cli::run_data, "Inspect or benchmark a dataset (data inspect|bench)"},
    {"train-classifier", gan::cli::run_train_classifier,
     "Train the small classifier used as a metrics detector"},
    {"bench", gan::cli::run_bench,
     "Benchmark training, generation and feature extraction (table + JSON)"},
    {"serve", gan::cli::run_serve,
     "Watch runs and explore checkpoints in the browser (HTTP server)"},
};

void print_usage() {
  std::cout << "gan " << GAN_VERSION
            << " - GAN training, generation and evaluation\n\n"
               "Usage: gan <command> [options]   (gan <command> --help for its options)\n\n"
               "Commands:\n";
  for (const auto& c : kCommands) {
    std::string name = c.name;
    name.resize(18, ' ');
    std::cout << "  " << name << c.summary << "\n";
  }
}

void report(const char* kind, const char* what) {
  // One line, with context already in the message (file:line:col, key, step).
  std::cerr << "error: " << kind << what << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  gan::init_logging(gan::Verbosity::normal);
  gan::register_all_components();
  // LibTorch's intra-op threads do the parallel work; a BLAS thread pool beside them would
  // compete for the same cores (docs/performance.md).
  gan::limit_blas_threads(1);
  // Freed activations stay in the heap for the next step instead of going back to the kernel.
  gan::keep_freed_memory();
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "gan " << GAN_VERSION << std::endl;
    return 0;
  }
  const Command* command = nullptr;
  for (const auto& c : kCommands) {
    if (argv[1] == std::string(c.name)) command = &c;
  }
  if (!command) {
    std::cerr << "error: unknown command '" << argv[1] << "' (see 'gan --help')" << std::endl;
    return 2;
  }
  std::string program = std::string("gan ") + argv[1];
  std::vector<char> program_buf(program.begin(), program.end());
  program_buf.push_back('\0');
  argv[1] = program_buf.data();
  try {
    return command->run(argc - 1, argv + 1);
  } catch (const gan::ConfigError& e) {
    report("", e.what());
    return 2;
  } catch (const gan::UsageError& e) {
    report("", e.what());
    return 2;
  } catch (const c10::Error& e) {
    // LibTorch's messages carry a C++ backtrace; the user needs the first line only.
    report("", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    report("", e.what());
    return 1;
  }
}
