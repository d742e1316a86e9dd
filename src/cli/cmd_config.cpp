// gan config: validate a config and print it fully resolved (a dry run), or print the
// configuration reference.
#include <iostream>

#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/train/component_catalog.h"

namespace gan::cli {

int run_config(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Validate a config and print it fully resolved (dry run).");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("reference", "Print the configuration reference (Markdown) and exit")(
      "renamed-keys", "Print the table of keys renamed since format 1 (Markdown) and exit");
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  if (args->count("reference")) {
    std::cout << config_reference_markdown();
    return 0;
  }
  if (args->count("renamed-keys")) {
    std::cout << renamed_keys_markdown();
    return 0;
  }
  Config cfg = config_from_args(*args);
  validate_components(cfg);
  std::cout << to_yaml(cfg);
  return 0;
}

}  // namespace gan::cli
