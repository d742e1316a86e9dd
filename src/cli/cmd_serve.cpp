// gan serve: watch runs and explore checkpoints in the browser (src/serve, docs/serve.md).
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"
#include "src/core/runtime.h"
#include "src/serve/server.h"

namespace gan::cli {

int run_serve(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Serve a page that shows runs live (curves, metrics, sample grids, "
                           "config, log) and generates images from their checkpoints. Read-only; "
                           "binds 127.0.0.1 unless --host says otherwise.");
  options.positional_help("[RUN_DIR]");
  add_common_options(options);
  options.add_options("Serve")("run_dir", "A run folder to show", cxxopts::value<std::string>())(
      "runs", "A folder of run folders (e.g. runs/); new runs appear as they start",
      cxxopts::value<std::string>())(
      "checkpoint", "A checkpoint file for the explorer (besides the runs' checkpoints)",
      cxxopts::value<std::string>())("host", "Address to listen on",
                                     cxxopts::value<std::string>()->default_value("127.0.0.1"))(
      "port", "Port to listen on (0 = any free port)",
      cxxopts::value<int>()->default_value("8080"))(
      "device", "Where the explorer generates: auto, cpu, cuda or cuda:N",
      cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = cores)", cxxopts::value<int>()->default_value("0"))(
      "queue", "Generation requests that may wait while one runs (more are refused with 503)",
      cxxopts::value<int>()->default_value("8"))(
      "timeout", "Seconds a generation request may take, waiting included (then 503/504)",
      cxxopts::value<double>()->default_value("30"));
  options.parse_positional({"run_dir"});
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  // SIGINT/SIGTERM are taken by this thread (sigwait below), which stops the server; blocked
  // before any other thread (LibTorch's, the server's) starts, so all of them inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  serve::ServeOptions o;
  if (args->count("run_dir")) o.run_dir = (*args)["run_dir"].as<std::string>();
  if (args->count("runs")) o.runs_root = (*args)["runs"].as<std::string>();
  if (args->count("checkpoint")) o.checkpoint = (*args)["checkpoint"].as<std::string>();
  o.host = (*args)["host"].as<std::string>();
  o.port = (*args)["port"].as<int>();
  o.explorer.queue = (*args)["queue"].as<int>();
  if (o.explorer.queue < 0 || o.explorer.queue > 1000) {
    throw UsageError("--queue must be in [0, 1000]");
  }
  o.explorer.timeout_s = (*args)["timeout"].as<double>();
  if (!(o.explorer.timeout_s > 0) || o.explorer.timeout_s > 3600) {
    throw UsageError("--timeout must be in (0, 3600] seconds");
  }
  RuntimeConfig runtime;
  runtime.device = (*args)["device"].as<std::string>();
  runtime.threads = (*args)["threads"].as<int>();
  if (runtime.threads < 0 || runtime.threads > 4096) {
    throw UsageError("--threads must be in [0, 4096] (0 = cores)");
  }
  o.explorer.device = apply_runtime(runtime, "--device: ");
  const std::string host = o.host;

  serve::Server server(std::move(o));
  const int port = server.start();
  if (host != "127.0.0.1" && host != "localhost" && host != "::1") {
    spdlog::warn(
        "listening on {}: anyone who can reach this address sees the runs and can make "
        "the server generate images (there is no authentication)",
        host);
  }
  std::cout << "serving http://" << (host.find(':') != std::string::npos ? "[" + host + "]" : host)
            << ":" << port << "/  (Ctrl-C stops)" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  server.stop();
  return 0;
}

}  // namespace gan::cli
