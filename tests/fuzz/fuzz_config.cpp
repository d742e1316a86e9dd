// The config loader (src/core/config.cpp): YAML files and `--set key=value` strings. Input
// starting with "--set " is split into overrides at newlines and applied to the defaults;
// anything else is a YAML file loaded as `gan train --config` would.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/train/component_catalog.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gan::register_all_components();  // once; configs name components
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    if (text.rfind("--set ", 0) == 0) {
      std::vector<std::string> sets;
      size_t pos = 6;
      while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        sets.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
      }
      gan::Config cfg = gan::default_config(sets);
      gan::config_from_string(gan::to_yaml(cfg), "round trip");
    } else {
      const std::string path =
          gan_fuzz::write_file(gan_fuzz::temp_dir() / "config.yaml", data, size);
      gan::Config cfg = gan::load_config(path);
      gan::config_from_string(gan::to_yaml(cfg), "round trip");
    }
  } catch (const gan::ConfigError&) {
  }
  return 0;
}
