// Shared pieces of the subcommands: common options, parsing with help/usage errors, and
// loading the config from --config/--set.
#pragma once

// --set values may hold commas (lists such as [fid, kid]): repeated options are never split.
#ifndef CXXOPTS_VECTOR_DELIMITER
#define CXXOPTS_VECTOR_DELIMITER '\0'
#endif
#include <cxxopts.hpp>
#include <optional>
#include <string>

#include "src/core/config.h"

namespace gan::cli {

// Adds --help, --quiet and --verbose.
void add_common_options(cxxopts::Options& options);

// Adds --config FILE and --set KEY=VALUE (repeatable).
void add_config_options(cxxopts::Options& options);

// Parses; prints help and returns nullopt on --help; throws UsageError on bad usage.
// Initialises logging from --quiet/--verbose.
std::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv);

// The config from --config (or the defaults) with every --set applied, validated.
Config config_from_args(const cxxopts::ParseResult& args);

// The value of a required option, or UsageError naming it.
std::string require(const cxxopts::ParseResult& args, const std::string& name);

}  // namespace gan::cli
