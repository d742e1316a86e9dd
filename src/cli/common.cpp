#include "src/cli/common.h"

#include <iostream>

#include "src/core/errors.h"
#include "src/core/logging.h"
#include "src/train/stylegan2_preset.h"

namespace gan::cli {

void add_common_options(cxxopts::Options& options) {
  options.add_options("General")("h,help", "Show this help")(
      "q,quiet", "Only print warnings and errors")("v,verbose", "Print debug messages");
}

void add_config_options(cxxopts::Options& options) {
  options.add_options("Config")("c,config", "Config YAML file (defaults when omitted)",
                                cxxopts::value<std::string>())(
      "s,set", "Override a key: section.key=value (repeatable, type-checked)",
      cxxopts::value<std::vector<std::string>>());
}

std::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv) {
  cxxopts::ParseResult result;
  try {
    result = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see '" + options.program() + " --help')");
  }
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    return std::nullopt;
  }
  if (!result.unmatched().empty()) {
    throw UsageError("unexpected argument '" + result.unmatched().front() + "' (see '" +
                     options.program() + " --help')");
  }
  init_logging(result.count("quiet")     ? Verbosity::quiet
               : result.count("verbose") ? Verbosity::verbose
                                         : Verbosity::normal);
  return result;
}

Config config_from_args(const cxxopts::ParseResult& args) {
  std::vector<std::string> overrides;
  if (args.count("set")) overrides = args["set"].as<std::vector<std::string>>();
  Config cfg = args.count("config") ? load_config(args["config"].as<std::string>(), overrides)
                                    : default_config(overrides);
  apply_objective_preset(cfg);
  return cfg;
}

std::string require(const cxxopts::ParseResult& args, const std::string& name) {
  if (!args.count(name)) throw UsageError("missing required option --" + name);
  return args[name].as<std::string>();
}

}  // namespace gan::cli
