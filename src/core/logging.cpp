#include "src/core/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "src/core/errors.h"

namespace gan {
namespace {
Verbosity g_verbosity = Verbosity::normal;
}

void init_logging(Verbosity verbosity) {
  g_verbosity = verbosity;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(verbosity == Verbosity::quiet     ? spdlog::level::warn
                     : verbosity == Verbosity::verbose ? spdlog::level::debug
                                                       : spdlog::level::info);
  console->set_pattern("%^[%H:%M:%S %L]%$ %v");
  auto logger = std::make_shared<spdlog::logger>("gan", console);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void add_log_file(const std::string& path) {
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error(path + ": cannot open log file: " + e.what());
  }
  sink->set_level(g_verbosity == Verbosity::verbose ? spdlog::level::debug : spdlog::level::info);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e %l] %v");
  spdlog::default_logger()->sinks().push_back(sink);
}

void remove_log_file() {
  auto& sinks = spdlog::default_logger()->sinks();
  if (sinks.size() > 1) {
    sinks.back()->flush();
    sinks.pop_back();
  }
}

}  // namespace gan
