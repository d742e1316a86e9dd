// The config layer: defaults, files, extends, overrides, and every error path with its
// file:line:col or --set context.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/core/files.h"

namespace fs = std::filesystem;
using gan::ConfigError;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("gan_cfg_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("defaults are valid and every key has a default", "[config]") {
  gan::Config cfg = gan::default_config();
  CHECK(cfg.optim.lr_g == Approx(2e-4));
  CHECK(cfg.data.type == "mnist_idx");
  const auto keys = gan::config_keys();
  CHECK(keys.size() > 50);
  for (const auto& k : keys) {
    CHECK_FALSE(k.default_.empty());
    CHECK_FALSE(k.doc.empty());
    CHECK_FALSE(k.type.empty());
  }
}

TEST_CASE("a file sets typed values and records their origin", "[config]") {
  TempDir d;
  auto path = d.write("a.yaml",
                      "optim:\n  lr_g: 1e-3\n  lr_d: 0.0004\ntrain:\n  batch_size: 32\n"
                      "  kimg: 2\nmodel:\n  conditional: true\naugment:\n"
                      "  diffaugment: [color, cutout]\nruntime:\n  threads: 3\n");
  gan::Config cfg = gan::load_config(path);
  CHECK(cfg.optim.lr_g == Approx(1e-3));
  CHECK(cfg.optim.lr_d == Approx(4e-4));
  CHECK(cfg.train.batch_size == 32);
  CHECK(cfg.train.kimg == 2.0);
  CHECK(cfg.model.conditional);
  CHECK(cfg.augment.diffaugment == std::vector<std::string>{"color", "cutout"});
  CHECK(cfg.runtime.threads == 3);
  CHECK(cfg.where("optim.lr_g") == path + ":2:3: ");
  CHECK(cfg.where("optim.beta1_g").empty());
  CHECK(cfg.name == "a");
}

TEST_CASE("a value out of range names file, line, column, key and value", "[config]") {
  TempDir d;
  auto path = d.write("x.yaml", "optim:\n  lr_d: 1e-4\n\n  lr_g: -1\n");
  CHECK(error_of([&] { gan::load_config(path); }) ==
        path + ":4:3: optim.lr_g must be > 0 (got -1)");
}

TEST_CASE("an unknown key suggests the closest valid key", "[config]") {
  TempDir d;
  auto path = d.write("x.yaml", "optim:\n  lr_gg: 0.1\n");
  CHECK(error_of([&] { gan::load_config(path); }) ==
        path + ":2:3: unknown key 'optim.lr_gg'; did you mean 'optim.lr_g'?");
  auto path2 = d.write("y.yaml", "trian:\n  steps: 3\n");
  CHECK(error_of([&] { gan::load_config(path2); }) ==
        path2 + ":1:1: unknown section 'trian'; did you mean 'train'?");
  auto path3 = d.write("z.yaml", "train:\n  lr_g: 3\n");
  CHECK_THAT(error_of([&] { gan::load_config(path3); }),
             Catch::Contains("unknown key 'train.lr_g'; did you mean 'optim.lr_g'?"));
}

TEST_CASE("wrong types are errors, not coercions", "[config]") {
  TempDir d;
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"train:\n  batch_size: 3.5\n", "train.batch_size must be an integer (got '3.5')"},
      {"train:\n  batch_size: \"64\"\n", "train.batch_size must be an integer (got '64')"},
      {"optim:\n  lr_g: fast\n", "optim.lr_g must be a number (got 'fast')"},
      {"data:\n  shuffle: yes\n", "data.shuffle must be true or false (got 'yes')"},
      {"data:\n  shuffle: 1\n", "data.shuffle must be true or false (got '1')"},
      {"augment:\n  diffaugment: color\n",
       "augment.diffaugment must be a list such as [a, b] (got 'color')"},
      {"data:\n  type: [a, b]\n", "data.type must be a string (got a list)"},
      {"train:\n  steps: 99999999999999999999999\n", "train.steps must be an integer in range"},
      {"data:\n  resolution: 99999999999\n", "data.resolution must be a 32-bit integer"},
      {"runtime:\n  threads: many\n", "runtime.threads must be an integer (got 'many')"},
      {"optim: 3\n", "section 'optim' must be a mapping of keys (got '3')"},
      {"- a\n- b\n", "a config must be a mapping of sections"},
  };
  for (const auto& c : cases) {
    auto path = d.write("t.yaml", c.yaml);
    INFO(c.yaml);
    CHECK_THAT(error_of([&] { gan::load_config(path); }), Catch::Contains(c.message));
    CHECK_THAT(error_of([&] { gan::load_config(path); }), Catch::StartsWith(path + ":"));
  }
}

TEST_CASE("checks on choices and ranges", "[config]") {
  struct Case {
    const char* set;
    const char* message;
  };
  const Case cases[] = {
      {"data.split=validation", "data.split must be one of train, test (got 'validation')"},
      {"runtime.device=gpu", "runtime.device must be one of auto, cpu, cuda, cuda:N (got 'gpu')"},
      {"data.channels=2", "data.channels must be 1 or 3 (got 2)"},
      {"optim.beta1_g=1.5", "optim.beta1_g must be in [0, 0.9999] (got 1.5)"},
      {"train.n_critic=0", "train.n_critic must be in [1, 100] (got 0)"},
      {"augment.diffaugment=[color, blur]",
       "augment.diffaugment entries must be among color, translation, cutout (got 'blur')"},
      {"runtime.threads=0", "runtime.threads must be auto or in [1, 4096] (got 0)"},
      {"loss.r1_gamma=-0.5", "loss.r1_gamma must be >= 0 (got -0.5)"},
      {"train.on_nan=ignore", "train.on_nan must be one of stop, rollback (got 'ignore')"},
  };
  for (const auto& c : cases) {
    INFO(c.set);
    std::string msg = error_of([&] { gan::default_config({c.set}); });
    CHECK_THAT(msg, Catch::Contains(c.message));
    CHECK_THAT(msg, Catch::StartsWith(std::string("--set ") + c.set));
  }
  CHECK(gan::default_config({"runtime.device=cuda:1"}).runtime.device == "cuda:1");
  CHECK(gan::default_config({"runtime.threads=auto"}).runtime.threads == 0);
}

TEST_CASE("cross-key rules", "[config]") {
  CHECK_THAT(error_of([] { gan::default_config({"train.steps=0"}); }),
             Catch::Contains("train.steps must be > 0 when train.kimg is 0"));
  CHECK_NOTHROW(gan::default_config({"train.steps=0", "train.kimg=1"}));
  CHECK_THAT(error_of([] {
               gan::default_config({"train.batch_size=64", "train.accumulate=3"});
             }),
             Catch::Contains("train.accumulate (3) must divide train.batch_size (64)"));
  CHECK_THAT(error_of([] { gan::default_config({"metrics.best=fid"}); }),
             Catch::Contains("metrics.best 'fid' must be one of metrics.names"));
  CHECK_NOTHROW(gan::default_config({"metrics.names=[fid, kid]", "metrics.best=fid"}));
}

TEST_CASE("overrides given with --set are parsed and type-checked like file values", "[config]") {
  gan::Config cfg = gan::default_config(
      {"optim.lr_g=1e-3", "train.batch_size=16", "data.hflip=true", "metrics.names=[fid]"});
  CHECK(cfg.optim.lr_g == Approx(1e-3));
  CHECK(cfg.train.batch_size == 16);
  CHECK(cfg.data.hflip);
  CHECK(cfg.metrics.names == std::vector<std::string>{"fid"});
  CHECK(cfg.where("optim.lr_g") == "--set optim.lr_g=1e-3: ");
  CHECK_THAT(error_of([] { gan::default_config({"optim.lr_gg=1"}); }),
             Catch::Contains("unknown key 'optim.lr_gg'; did you mean 'optim.lr_g'?"));
  CHECK_THAT(error_of([] { gan::default_config({"optim.lr_g"}); }),
             Catch::Contains("expected section.key=value"));
  CHECK_THAT(error_of([] { gan::default_config({"train.batch_size=big"}); }),
             Catch::Contains("train.batch_size must be an integer (got 'big')"));
  CHECK_THAT(error_of([] { gan::default_config({"optim.lr_g=[1"}); }),
             Catch::Contains("YAML syntax error"));
}

TEST_CASE("a preset extends a base file - later values win", "[config]") {
  TempDir d;
  d.write("base.yaml", "optim:\n  lr_g: 1e-3\n  lr_d: 1e-3\ntrain:\n  batch_size: 8\n");
  fs::create_directories(d.path / "sub");
  auto child = d.write("sub/child.yaml", "extends: ../base.yaml\noptim:\n  lr_d: 5e-4\n");
  gan::Config cfg = gan::load_config(child, {"train.batch_size=4"});
  CHECK(cfg.optim.lr_g == Approx(1e-3));
  CHECK(cfg.optim.lr_d == Approx(5e-4));
  CHECK(cfg.train.batch_size == 4);
  CHECK_THAT(cfg.where("optim.lr_g"), Catch::Contains("base.yaml:2:3"));
  CHECK_THAT(cfg.where("optim.lr_d"), Catch::Contains("child.yaml:3:3"));
  // An error in the base file names the base file.
  d.write("bad_base.yaml", "train:\n  batch_size: 0\n");
  auto child2 = d.write("c2.yaml", "extends: bad_base.yaml\n");
  CHECK_THAT(error_of([&] { gan::load_config(child2); }),
             Catch::Contains("bad_base.yaml:2:3: train.batch_size must be in [1, 65536] (got 0)"));
  auto missing = d.write("c3.yaml", "extends: nowhere.yaml\n");
  CHECK_THAT(error_of([&] { gan::load_config(missing); }),
             Catch::Contains("extends: no such file"));
  d.write("loop_a.yaml", "extends: loop_b.yaml\n");
  auto loop_b = d.write("loop_b.yaml", "extends: loop_a.yaml\n");
  CHECK_THAT(error_of([&] { gan::load_config(loop_b); }), Catch::Contains("forms a cycle"));
}

TEST_CASE("malformed YAML and missing files", "[config]") {
  TempDir d;
  auto path = d.write("bad.yaml", "optim:\n  lr_g: [1, 2\n");
  CHECK_THAT(error_of([&] { gan::load_config(path); }),
             Catch::Matches(".*bad\\.yaml:\\d+:\\d+: YAML syntax error.*"));
  CHECK_THAT(error_of([&] { gan::load_config((d.path / "none.yaml").string()); }),
             Catch::Contains("none.yaml: no such config file"));
  auto empty = d.write("empty.yaml", "");
  CHECK(gan::load_config(empty).train.batch_size == gan::Config().train.batch_size);
}

TEST_CASE("the resolved YAML reproduces the config exactly", "[config]") {
  gan::Config cfg = gan::default_config(
      {"optim.lr_g=0.00012345678901234", "augment.diffaugment=[color]", "metrics.names=[fid, kid]",
       "data.path=/tmp/a b: c", "runtime.device=cpu", "train.kimg=0.1", "runtime.threads=2"});
  const std::string text = gan::to_yaml(cfg);
  gan::Config back = gan::config_from_string(text, "resolved");
  CHECK(gan::to_yaml(back) == text);
  CHECK(back.optim.lr_g == cfg.optim.lr_g);
  CHECK(back.data.path == "/tmp/a b: c");
  CHECK(back.metrics.names == cfg.metrics.names);
  CHECK(back.runtime.threads == 2);
  // And through a file, as the run folder's config.yaml is used.
  TempDir d;
  auto path = d.write("config.yaml", text);
  CHECK(gan::to_yaml(gan::load_config(path)) == text);
}

TEST_CASE("the configuration reference in docs matches the code", "[config][docs]") {
  const std::string doc = gan::read_file(std::string(GAN_SOURCE_DIR) + "/docs/configuration.md");
  const std::string begin = "<!-- keys:begin -->\n", end = "<!-- keys:end -->";
  auto b = doc.find(begin), e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string table = doc.substr(b + begin.size(), e - b - begin.size());
  INFO("regenerate with: gan config --reference");
  CHECK(table == gan::config_reference_markdown());
}

TEST_CASE("every shipped config loads and validates", "[config]") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(std::string(GAN_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(gan::load_config(entry.path().string()));
    ++count;
  }
  CHECK(count >= 1);
}

// Reliability defects 2, 3, 21 and 22: overflowing numbers, absurd lengths, complex keys,
// duplicates, tagged scalars and non-file `extends:` are errors, and what is accepted reads back.
TEST_CASE("non-finite numbers are rejected for every float key", "[config][reliability]") {
  int floats = 0;
  for (const auto& k : gan::config_keys()) {
    if (k.type != "float") continue;
    ++floats;
    for (const char* bad : {"1e400", "-1e400", ".inf", ".nan"}) {
      INFO(k.key << "=" << bad);
      const std::string e = error_of([&] { gan::default_config({k.key + "=" + bad}); });
      CHECK_THAT(e, Catch::Contains(k.key));
      CHECK_THAT(e, Catch::Contains("--set"));
    }
  }
  CHECK(floats >= 10);
  CHECK_THAT(error_of([&] { gan::default_config({"train.snapshot_kimg=1e400"}); }),
             Catch::Contains("train.snapshot_kimg must be a finite number (got '1e400')"));
}

TEST_CASE("training lengths and intervals are bounded", "[config][reliability]") {
  CHECK_THAT(error_of([&] { gan::default_config({"train.kimg=1e17"}); }),
             Catch::Contains("train.kimg must be in [0, 1000000000]"));
  CHECK_THAT(error_of([&] { gan::default_config({"train.snapshot_kimg=1e300"}); }),
             Catch::Contains("train.snapshot_kimg must be in [0.001, 1e9]"));
  CHECK_THAT(error_of([&] { gan::default_config({"data.synthetic_count=1099511627776"}); }),
             Catch::Contains("data.synthetic_count must be in [1, 100000000]"));
  CHECK_THAT(error_of([&] { gan::default_config({"train.steps=99999999999999999999"}); }),
             Catch::Contains("train.steps must be an integer in range"));
}

TEST_CASE("every accepted extreme value reads back from the written YAML",
          "[config][reliability]") {
  gan::Config cfg = gan::default_config({"train.kimg=1e9", "train.snapshot_kimg=1e9",
                                         "train.tick_kimg=0.001", "train.sample_kimg=123456789.123",
                                         "train.ema_kimg=1e-300", "optim.lr_g=1e300",
                                         "loss.r1_gamma=4.9e-324", "train.steps=1000000000000"});
  const std::string text = gan::to_yaml(cfg);
  CHECK(gan::to_yaml(gan::config_from_string(text, "resolved")) == text);
}

TEST_CASE("complex, duplicate and tagged keys and values are errors", "[config][reliability]") {
  TempDir d;
  CHECK_THAT(error_of([&] { gan::load_config(d.write("k.yaml", "? [a, b]\n: 1\n")); }),
             Catch::Contains("k.yaml:1:3: a section name must be a plain name (got a list)"));
  CHECK_THAT(error_of([&] { gan::load_config(d.write("k2.yaml", "train:\n  ? [a]\n  : 1\n")); }),
             Catch::Contains("k2.yaml:2:5: a key must be a plain name"));
  CHECK_THAT(
      error_of([&] { gan::load_config(d.write("dup.yaml", "train:\n  steps: 5\n  steps: 6\n")); }),
      Catch::Contains("dup.yaml:3:3: key 'train.steps' appears twice"));
  CHECK_THAT(error_of([&] {
               gan::load_config(
                   d.write("dups.yaml", "train:\n  steps: 5\noptim: {}\ntrain:\n  kimg: 1\n"));
             }),
             Catch::Contains("dups.yaml:4:1: section 'train' appears twice"));
  CHECK_THAT(error_of([&] { gan::load_config(d.write("tag.yaml", "train:\n  steps: !!str 5\n")); }),
             Catch::Contains("train.steps must be an integer (got '5')"));
  CHECK_THAT(error_of([&] { gan::load_config(d.write("tagf.yaml", "optim:\n  lr_g: !!str 1\n")); }),
             Catch::Contains("optim.lr_g must be a number"));
}

TEST_CASE("extends and config paths must name regular, small files", "[config][reliability]") {
  TempDir d;
  fs::create_directories(d.path / "folder");
  CHECK_THAT(error_of([&] { gan::load_config(d.write("f.yaml", "extends: folder\n")); }),
             Catch::Contains("is not a regular file"));
  CHECK_THAT(error_of([&] { gan::load_config(d.write("z.yaml", "extends: /dev/zero\n")); }),
             Catch::Contains("'/dev/zero' is not a regular file"));
  CHECK_THAT(error_of([&] { gan::load_config((d.path / "folder").string()); }),
             Catch::Contains("not a regular file"));
  const std::string big = d.write("big.yaml", "# " + std::string(2 << 20, 'x') + "\n");
  CHECK_THAT(error_of([&] { gan::load_config(big); }), Catch::Contains("config file too large"));
}
