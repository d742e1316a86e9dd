// A tiny trained model for CLI tests (seconds): synthetic_shapes_tiny for 2 steps.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "src/train/checkpoint.h"

namespace test_cli {

// Trains into `out` (emptied first) with extra `--set` values; returns the last checkpoint.
inline std::string train_tiny_checkpoint(const std::filesystem::path& out,
                                         const std::vector<std::string>& sets) {
  std::filesystem::remove_all(out);
  std::vector<std::string> args = {
      "train", "--config",     config("synthetic_shapes_tiny.yaml"), "--outdir", out.string(),
      "--set", "train.steps=2"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  auto r = run(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto ckpts = gan::list_checkpoints((out / "00000-synthetic_shapes_tiny").string());
  REQUIRE(!ckpts.empty());
  return ckpts[0];
}

}  // namespace test_cli
