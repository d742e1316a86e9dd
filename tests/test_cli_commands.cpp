// The `gan` executable: exit codes, one-line errors with context, help for every subcommand.
#include <catch2/catch.hpp>

#include "cli_helpers.h"

using test_cli::run;

TEST_CASE("version, help and unknown commands", "[cli]") {
  auto v = run({"--version"});
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Catch::StartsWith("gan "));
  CHECK(run({}).code == 2);
  auto unknown = run({"trian"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown command 'trian'"));
  for (const char* sub :
       {"train", "generate", "evaluate", "config", "info", "data", "train-classifier"}) {
    INFO(sub);
    auto h = run({sub, "--help"});
    CHECK(h.code == 0);
    CHECK_THAT(h.out, Catch::Contains("--help"));
    CHECK_THAT(h.out, Catch::Contains("Usage"));
  }
}

TEST_CASE("usage and config errors exit 2 with one line of context", "[cli]") {
  auto bogus = run({"train", "--bogus"});
  CHECK(bogus.code == 2);
  CHECK_THAT(bogus.err, Catch::Contains("bogus"));
  auto bad = run({"config", "--config", test_cli::config("synthetic_shapes_tiny.yaml"), "--set",
                  "optim.g.lr=-1"});
  CHECK(bad.code == 2);
  CHECK(bad.err == "error: --set optim.g.lr=-1: optim.g.lr must be > 0 (got -1)\n");
  auto missing = run({"config", "--config", "/nonexistent/x.yaml"});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent/x.yaml: no such config file"));
  auto component = run({"config", "--set", "model.g.type=stylegan9"});
  CHECK(component.code == 2);
  CHECK_THAT(component.err, Catch::Contains("unknown generator 'stylegan9' (known: "));
  auto cuda = run({"info", "--set", "runtime.device=cuda:7"});
  CHECK(cuda.code == 2);
  CHECK_THAT(cuda.err, Catch::Contains("runtime.device is 'cuda:7' but"));
  auto layout = run({"bench", "--cases", "train_default", "--memory-format", "nhwc"});
  CHECK(layout.code == 2);
  CHECK_THAT(layout.err, Catch::Contains("--memory-format: unknown layout 'nhwc'") &&
                             Catch::Contains("channels_last"));
}

TEST_CASE("gan config prints a resolved config that loads back identically", "[cli]") {
  auto a = run({"config", "--config", test_cli::config("fashion_mnist_dcgan.yaml"), "--set",
                "train.kimg=5"});
  REQUIRE(a.code == 0);
  CHECK_THAT(a.out, Catch::Contains("  kimg: 5.0"));
  const auto path = std::filesystem::temp_directory_path() /
                    ("gan_resolved_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << a.out;
  auto b = run({"config", "--config", path.string()});
  REQUIRE(b.code == 0);
  CHECK(b.out == a.out);
  std::filesystem::remove(path);
}

TEST_CASE("gan info reports versions, threads and BLAS", "[cli]") {
  auto r = run({"info", "--config", test_cli::config("synthetic_shapes_tiny.yaml")});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("LibTorch"));
  CHECK_THAT(r.out, Catch::Contains("threads    2"));
  CHECK_THAT(r.out, Catch::Contains("BLAS"));
  CHECK_THAT(r.out, Catch::Contains("parameters"));
  CHECK_THAT(r.out, Catch::Contains("MFLOPs per image"));
}
