// The config layer: defaults, files, extends, overrides, and every error path with its
// file:line:col or --set context.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "src/core/component_config.h"
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
  CHECK(cfg.optim.g.get_float("lr") == Approx(2e-4));
  CHECK(cfg.data.dataset.type == "mnist_idx");
  CHECK(cfg.model.g.type == "dcgan");
  CHECK(cfg.model.g.get_int("width") == 64);
  auto keys = gan::config_keys();
  CHECK(keys.size() > 45);
  const auto own = gan::component_keys(cfg);
  CHECK(own.size() > 15);
  keys.insert(keys.end(), own.begin(), own.end());
  for (const auto& k : keys) {
    CHECK_FALSE(k.default_.empty());
    CHECK_FALSE(k.doc.empty());
    CHECK_FALSE(k.type.empty());
  }
}

TEST_CASE("a file sets typed values and records their origin", "[config]") {
  TempDir d;
  auto path = d.write("a.yaml",
                      "optim:\n  g:\n    lr: 1e-3\n  d: {lr: 0.0004}\ntrain:\n  batch_size: 32\n"
                      "  kimg: 2\nmodel:\n  conditional: true\naugment:\n"
                      "  policy: [color, cutout]\n  type: diffaugment\nruntime:\n  threads: 3\n");
  gan::Config cfg = gan::load_config(path);
  CHECK(cfg.optim.g.get_float("lr") == Approx(1e-3));
  CHECK(cfg.optim.d.get_float("lr") == Approx(4e-4));
  CHECK(cfg.train.batch_size == 32);
  CHECK(cfg.train.kimg == 2.0);
  CHECK(cfg.model.conditional);
  // `type:` is read first, so the policy written above it belongs to diffaugment.
  CHECK(cfg.augment.type == "diffaugment");
  CHECK(cfg.augment.get_strings("policy") == std::vector<std::string>{"color", "cutout"});
  CHECK(cfg.runtime.threads == 3);
  CHECK(cfg.where("optim.g.lr") == path + ":3:5: ");
  CHECK(cfg.where("optim.g.betas").empty());
  CHECK(cfg.name == "a");
}

TEST_CASE("a value out of range names file, line, column, key and value", "[config]") {
  TempDir d;
  auto path = d.write("x.yaml", "optim:\n  d:\n    lr: 1e-4\n\n  g:\n    lr: -1\n");
  CHECK(error_of([&] { gan::load_config(path); }) ==
        path + ":6:5: optim.g.lr must be > 0 (got -1)");
  auto path2 = d.write("y.yaml", "model:\n  g: {width: 0}\n");
  CHECK(error_of([&] { gan::load_config(path2); }) ==
        path2 + ":2:7: model.g.width must be in [1, 4096] (got 0)");
}

TEST_CASE("an unknown key suggests the closest valid key", "[config]") {
  TempDir d;
  auto path = d.write("x.yaml", "optim:\n  g:\n    lrr: 0.1\n");
  CHECK(error_of([&] { gan::load_config(path); }) ==
        path + ":3:5: unknown key 'optim.g.lrr'; did you mean 'optim.g.lr'?");
  auto path2 = d.write("y.yaml", "trian:\n  steps: 3\n");
  CHECK(error_of([&] { gan::load_config(path2); }) ==
        path2 + ":1:1: unknown section 'trian'; did you mean 'train'?");
  auto path3 = d.write("z.yaml", "train:\n  batchsize: 3\n");
  CHECK_THAT(error_of([&] { gan::load_config(path3); }),
             Catch::Contains("unknown key 'train.batchsize'; did you mean 'train.batch_size'?"));
  // A key of another type of the same slot says whose it is.
  CHECK_THAT(error_of([] { gan::default_config({"data.count=5"}); }),
             Catch::Contains("'data.count' is not a key of dataset 'mnist_idx' (data.type); it "
                             "belongs to synthetic_shapes"));
  CHECK_THAT(
      error_of([] { gan::default_config({"model.g.type=stylegan9"}); }),
      Catch::Contains(
          "model.g.type: unknown generator 'stylegan9' (known: dcgan, mlp, resnet, stylegan2)"));
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
      {"optim:\n  g: {lr: fast}\n", "optim.g.lr must be a number (got 'fast')"},
      {"optim:\n  g: {betas: 0.5}\n", "optim.g.betas must be a list of numbers"},
      {"model:\n  g: dcgan\n", "model.g must be a mapping such as {type: dcgan}"},
      {"data:\n  shuffle: yes\n", "data.shuffle must be true or false (got 'yes')"},
      {"data:\n  shuffle: 1\n", "data.shuffle must be true or false (got '1')"},
      {"augment:\n  type: diffaugment\n  policy: color\n",
       "augment.policy must be a list such as [a, b] (got 'color')"},
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
      {"optim.g.betas=[1.5, 0.9]", "optim.g.betas entries must be in [0, 0.9999999] (got 1.5)"},
      {"optim.d.betas=[0.5]", "optim.d.betas must have 2 entries (got 1)"},
      {"model.d.norm=layer", "model.d.norm must be one of batch, none (got 'layer')"},
      {"train.n_critic=0", "train.n_critic must be in [1, 100] (got 0)"},
      {"augment.policy=[color, blur]",
       "'augment.policy' is not a key of augment 'none' (augment.type); it belongs to "
       "diffaugment"},
      {"runtime.threads=0", "runtime.threads must be auto or in [1, 4096] (got 0)"},
      {"loss.r1.gamma=-0.5", "loss.r1.gamma must be >= 0 (got -0.5)"},
      {"loss.type=wasserstein",
       "unknown objective 'wasserstein' (known: hinge, lsgan, "
       "nonsaturating, stylegan2, wgan); it is now 'wgan'"},
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
  CHECK_THAT(error_of([] {
               gan::default_config({"augment.type=diffaugment", "augment.policy=[color, blur]"});
             }),
             Catch::Contains("augment.policy entries must be among color, translation, cutout "
                             "(got 'blur')"));
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
  gan::Config cfg =
      gan::default_config({"optim.g.lr=1e-3", "train.batch_size=16", "data.hflip=true",
                           "metrics.names=[fid]", "model.g.width=8", "loss.r1.interval=4"});
  CHECK(cfg.optim.g.get_float("lr") == Approx(1e-3));
  CHECK(cfg.model.g.get_int("width") == 8);
  CHECK(cfg.loss.get_int("r1.interval") == 4);
  CHECK(cfg.train.batch_size == 16);
  CHECK(cfg.data.hflip);
  CHECK(cfg.metrics.names == std::vector<std::string>{"fid"});
  CHECK(cfg.where("optim.g.lr") == "--set optim.g.lr=1e-3: ");
  CHECK_THAT(error_of([] { gan::default_config({"optim.g.lrr=1"}); }),
             Catch::Contains("unknown key 'optim.g.lrr'; did you mean 'optim.g.lr'?"));
  CHECK_THAT(error_of([] { gan::default_config({"optim.g.lr"}); }),
             Catch::Contains("expected section.key=value"));
  CHECK_THAT(error_of([] { gan::default_config({"train.batch_size=big"}); }),
             Catch::Contains("train.batch_size must be an integer (got 'big')"));
  CHECK_THAT(error_of([] { gan::default_config({"optim.g.lr=[1"}); }),
             Catch::Contains("YAML syntax error"));
}

TEST_CASE("a preset extends a base file - later values win", "[config]") {
  TempDir d;
  d.write("base.yaml",
          "optim:\n  g:\n    lr: 1e-3\n  d:\n    lr: 1e-3\ntrain:\n  batch_size: 8\n"
          "model:\n  g: {type: resnet, width: 16}\n  d: {width: 16}\n");
  fs::create_directories(d.path / "sub");
  auto child = d.write("sub/child.yaml",
                       "extends: ../base.yaml\noptim:\n  d:\n    lr: 5e-4\nmodel:\n"
                       "  g: {type: dcgan}\n  d: {norm: none}\n");
  gan::Config cfg = gan::load_config(child, {"train.batch_size=4"});
  CHECK(cfg.optim.g.get_float("lr") == Approx(1e-3));
  CHECK(cfg.optim.d.get_float("lr") == Approx(5e-4));
  CHECK(cfg.train.batch_size == 4);
  CHECK_THAT(cfg.where("optim.g.lr"), Catch::Contains("base.yaml:3:5"));
  CHECK_THAT(cfg.where("optim.d.lr"), Catch::Contains("child.yaml:4:5"));
  // Another type starts from its own defaults; the same type keeps the base's keys.
  CHECK(cfg.model.g.type == "dcgan");
  CHECK(cfg.model.g.get_int("width") == 64);
  CHECK(cfg.where("model.g.width").empty());
  CHECK(cfg.model.d.get_int("width") == 16);
  CHECK(cfg.model.d.get_string("norm") == "none");
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
  auto path = d.write("bad.yaml", "optim:\n  g: {lr: [1, 2\n");
  CHECK_THAT(error_of([&] { gan::load_config(path); }),
             Catch::Matches(".*bad\\.yaml:\\d+:\\d+: YAML syntax error.*"));
  CHECK_THAT(error_of([&] { gan::load_config((d.path / "none.yaml").string()); }),
             Catch::Contains("none.yaml: no such config file"));
  auto empty = d.write("empty.yaml", "");
  CHECK(gan::load_config(empty).train.batch_size == gan::Config().train.batch_size);
}

TEST_CASE("the resolved YAML reproduces the config exactly", "[config]") {
  gan::Config cfg = gan::default_config(
      {"optim.g.lr=0.00012345678901234", "augment.type=diffaugment", "augment.policy=[color]",
       "metrics.names=[fid, kid]", "data.path=/tmp/a b: c", "runtime.device=cpu", "train.kimg=0.1",
       "runtime.threads=2", "loss.type=hinge", "loss.r1.gamma=0.5", "loss.r1.interval=16",
       "optim.d.betas=[0.0, 0.99]", "data.type=synthetic_shapes", "data.count=77",
       "model.g.type=resnet", "model.g.norm=none"});
  const std::string text = gan::to_yaml(cfg);
  gan::Config back = gan::config_from_string(text, "resolved");
  CHECK(gan::to_yaml(back) == text);
  CHECK(back.optim.g.get_float("lr") == cfg.optim.g.get_float("lr"));
  CHECK(back.loss.get_float("r1.gamma") == 0.5);
  CHECK(back.data.dataset.get_int("count") == 77);
  CHECK(back.model.g.get_string("norm") == "none");
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
  const std::string rb = "<!-- renamed:begin -->\n", re = "<!-- renamed:end -->";
  b = doc.find(rb);
  e = doc.find(re);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  INFO("regenerate with: gan config --renamed-keys");
  CHECK(doc.substr(b + rb.size(), e - b - rb.size()) == gan::renamed_keys_markdown());
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
  auto keys = gan::config_keys();
  const auto own = gan::component_keys(gan::Config());
  keys.insert(keys.end(), own.begin(), own.end());
  for (const auto& k : keys) {
    if (k.type != "float") continue;
    ++floats;
    for (const char* bad : {"1e400", "-1e400", ".inf", ".nan"}) {
      INFO(k.key << "=" << bad);
      const std::string e = error_of([&] { gan::default_config({k.key + "=" + bad}); });
      CHECK_THAT(e, Catch::Contains(k.key));
      CHECK_THAT(e, Catch::Contains("--set"));
    }
  }
  CHECK(floats >= 12);
  CHECK_THAT(error_of([&] { gan::default_config({"train.snapshot_kimg=1e400"}); }),
             Catch::Contains("train.snapshot_kimg must be a finite number (got '1e400')"));
}

TEST_CASE("training lengths and intervals are bounded", "[config][reliability]") {
  CHECK_THAT(error_of([&] { gan::default_config({"train.kimg=1e17"}); }),
             Catch::Contains("train.kimg must be in [0, 1000000000]"));
  CHECK_THAT(error_of([&] { gan::default_config({"train.snapshot_kimg=1e300"}); }),
             Catch::Contains("train.snapshot_kimg must be in [0.001, 1e9]"));
  CHECK_THAT(error_of([&] {
               gan::default_config({"data.type=synthetic_shapes", "data.count=1099511627776"});
             }),
             Catch::Contains("data.count must be in [1, 100000000]"));
  CHECK_THAT(error_of([&] { gan::default_config({"train.steps=99999999999999999999"}); }),
             Catch::Contains("train.steps must be an integer in range"));
}

TEST_CASE("every accepted extreme value reads back from the written YAML",
          "[config][reliability]") {
  gan::Config cfg = gan::default_config({"train.kimg=1e9", "train.snapshot_kimg=1e9",
                                         "train.tick_kimg=0.001", "train.sample_kimg=123456789.123",
                                         "train.ema_kimg=1e-300", "optim.g.lr=1e300",
                                         "loss.r1.gamma=4.9e-324", "train.steps=1000000000000"});
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
  CHECK_THAT(
      error_of([&] { gan::load_config(d.write("tagf.yaml", "optim:\n  g: {lr: !!str 1}\n")); }),
      Catch::Contains("optim.g.lr must be a number"));
  CHECK_THAT(error_of([&] {
               gan::load_config(d.write("dupc.yaml", "model:\n  g:\n    width: 5\n    width: 6\n"));
             }),
             Catch::Contains("dupc.yaml:4:5: key 'model.g.width' appears twice"));
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

// Issue 14: components own their keys; the old flat spelling is an error naming the new one,
// and a format-1 config (as old checkpoints store it) is translated.
TEST_CASE("an old flat key names its new spelling", "[config][components]") {
  TempDir d;
  const auto path = d.write("old.yaml", "model:\n  g_width: 32\n");
  CHECK(error_of([&] { gan::load_config(path); }) ==
        path +
            ":2:3: 'model.g_width' is the old spelling; write model.g.width "
            "(docs/configuration.md, \"Renamed keys\")");
  for (const char* old :
       {"optim.lr_g=1", "loss.r1_gamma=1", "model.generator=dcgan", "augment.diffaugment=[color]",
        "data.synthetic_count=4", "optim.beta1_d=0.5"}) {
    INFO(old);
    CHECK_THAT(error_of([&] { gan::default_config({old}); }),
               Catch::Contains("is the old spelling; write"));
  }
  CHECK_THAT(gan::renamed_keys_markdown(), Catch::Contains("| `model.g_width` | model.g.width |"));
}

TEST_CASE("a format-1 config translates into the component layout", "[config][components]") {
  const std::string old_yaml =
      "data:\n  type: synthetic_shapes\n  labels: auto\n  synthetic_count: 99\n"
      "model:\n  generator: resnet\n  discriminator: dcgan\n  z_dim: 12\n  g_width: 8\n"
      "  d_width: 6\n  g_norm: none\n  d_norm: batch\n  g_spectral_norm: false\n"
      "  d_spectral_norm: true\n  conditional: false\n  init: xavier\n"
      "loss:\n  type: wasserstein\n  r1_gamma: 0.0\n  gp_lambda: 10.0\n  reg_interval: 4\n"
      "augment:\n  diffaugment: [color, cutout]\n"
      "optim:\n  lr_g: 1.0e-4\n  lr_d: 3.0e-4\n  beta1_g: 0.0\n  beta2_g: 0.9\n"
      "  beta1_d: 0.5\n  beta2_d: 0.99\n";
  CHECK_THROWS_AS(gan::config_from_string(old_yaml, "old"), ConfigError);
  const gan::Config cfg = gan::config_from_string(old_yaml, "old", 1);
  CHECK(cfg.data.dataset.type == "synthetic_shapes");
  CHECK(cfg.data.dataset.get_int("count") == 99);
  CHECK(cfg.model.g.type == "resnet");
  CHECK(cfg.model.g.get_int("z_dim") == 12);
  CHECK(cfg.model.g.get_int("width") == 8);
  CHECK(cfg.model.g.get_string("norm") == "none");
  CHECK(cfg.model.d.type == "dcgan");
  CHECK(cfg.model.d.get_int("width") == 6);
  CHECK(cfg.model.d.get_bool("spectral_norm"));
  CHECK(cfg.model.init == "xavier");
  CHECK(cfg.loss.type == "wgan");
  CHECK(cfg.loss.get_float("gp.lambda") == 10.0);
  CHECK(cfg.loss.get_int("gp.interval") == 4);
  CHECK(cfg.augment.type == "diffaugment");
  CHECK(cfg.augment.get_strings("policy") == std::vector<std::string>{"color", "cutout"});
  CHECK(cfg.optim.g.get_float("lr") == Approx(1e-4));
  CHECK(cfg.optim.g.get_floats("betas") == std::vector<double>{0.0, 0.9});
  CHECK(cfg.optim.d.get_floats("betas") == std::vector<double>{0.5, 0.99});
  // No augmentation in format 1 is an empty list.
  const gan::Config none = gan::config_from_string("augment:\n  diffaugment: []\n", "old", 1);
  CHECK(none.augment.type == "none");
}

TEST_CASE("component values read back through code, defaults and set()", "[config][components]") {
  gan::ComponentConfig g("generator", "dcgan");
  CHECK(g.get_int("width") == 64);  // the schema's default
  g.set("width", int64_t(16));
  CHECK(g.get_int("width") == 16);
  CHECK_THROWS_AS(g.set("depth", int64_t(3)), std::logic_error);
  CHECK_THROWS_AS(g.set("width", std::string("wide")), std::logic_error);
  CHECK_THROWS_AS(g.get_string("width"), std::logic_error);
  gan::ComponentConfig unknown("generator", "stylegan9");
  CHECK_THROWS_AS(unknown.get_int("width"), std::logic_error);
  CHECK(gan::component_types("objective") ==
        std::vector<std::string>{"hinge", "lsgan", "nonsaturating", "stylegan2", "wgan"});
}
