// gan import and StyleGAN2 generation end to end: an export of the independent reference
// implementation (scripts/make_stylegan2_export_fixture.py) becomes a checkpoint; gan generate
// draws the reference images for the same seeds, classes, psi and noise, the style-mixing grid
// and the w interpolation, records them in the PNGs, and gan verify redraws them bit for bit.
#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>

#include "cli_helpers.h"
#include "data/image_grid.h"
#include "data/png_text.h"
#include "src/core/files.h"
#include "tensor_fixture.h"
#include "tiny_checkpoint.h"

#include <catch2/catch.hpp>  // last: torch's glog CHECK must not replace Catch's

namespace fs = std::filesystem;
using Catch::Contains;
using test_cli::run;

namespace {

const std::string kExport = std::string(GAN_TEST_DATA_DIR) + "/stylegan2_export.pt";

fs::path temp(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("gan_import_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

const std::map<std::string, torch::Tensor>& reference() {
  static const auto r = test_fixture::load_tensor_dict(std::string(GAN_TEST_DATA_DIR) +
                                                       "/stylegan2_export_reference.pt");
  return r;
}

// Largest per-byte difference between a written image and the reference floats rendered by
// gan's own grid code (the float -> uint8 rounding may differ by one level at most).
int max_byte_diff(const fs::path& file, const torch::Tensor& images, int columns) {
  const cv::Mat actual = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
  const cv::Mat expected = gan::make_grid(images, columns);
  REQUIRE(!actual.empty());
  REQUIRE(actual.size() == expected.size());
  REQUIRE(actual.type() == expected.type());
  cv::Mat diff;
  cv::absdiff(actual, expected, diff);
  double hi = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &hi);
  return int(hi);
}

std::string text_of(const fs::path& png, const std::string& key) {
  const gan::PngText t = gan::read_png_text(gan::read_file(png.string()), png.string());
  const std::string* v = gan::find_png_text(t, key);
  return v ? *v : "";
}

}  // namespace

TEST_CASE("import -> generate gives the reference images; verify redraws them", "[cli][import]") {
  const fs::path dir = temp("roundtrip");
  fs::create_directories(dir);
  const std::string ckpt = (dir / "imported.pt").string();
  auto r = run({"import", kExport, "-o", ckpt});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("3 classes") != std::string::npos);
  r = run({"import", kExport, "-o", ckpt});
  CHECK(r.code == 2);  // never overwrites
  CHECK_THAT(r.err, Contains("exists"));

  const auto& ref = reference();
  // Seeds 0-3 take classes 0, 1, 2, 0 (seed mod classes), as the fixture does.
  struct Case {
    std::vector<std::string> args;
    const char* key;
  };
  for (const Case& c : {Case{{}, "img.psi1"}, Case{{"--psi", "0.5"}, "img.psi05"},
                        Case{{"--psi", "0.7", "--cutoff", "2"}, "img.psi07_cut2"},
                        Case{{"--noise-mode", "none"}, "img.none"}}) {
    INFO(c.key);
    const fs::path out = dir / c.key;
    std::vector<std::string> args = {"generate", "--checkpoint", ckpt,        "--seeds",
                                     "0-3",      "-o",           out.string()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    r = run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    for (int i = 0; i < 4; ++i) {
      const fs::path png = out / ("seed000" + std::to_string(i) + ".png");
      CHECK(max_byte_diff(png, ref.at(c.key).slice(0, i, i + 1), 1) <= 1);
    }
    r = run({"verify", (out / "seed0000.png").string(), (out / "seed0003.png").string()});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
  }
  CHECK(text_of(dir / "img.psi07_cut2" / "seed0001.png", "gan:truncation-psi") == "0.7");
  CHECK(text_of(dir / "img.psi07_cut2" / "seed0001.png", "gan:truncation-cutoff") == "2");
  CHECK(text_of(dir / "img.none" / "seed0001.png", "gan:noise-mode") == "none");
  CHECK(text_of(dir / "img.psi1" / "seed0001.png", "gan:noise-mode") == "const");

  // G instead of G_ema; and the export file itself works as a checkpoint.
  r = run({"generate", "--checkpoint", kExport, "--no-ema", "--seeds", "0-3", "-o",
           (dir / "g").string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(max_byte_diff(dir / "g" / "seed0002.png", ref.at("img_g.psi1").slice(0, 2, 3), 1) <= 1);

  // The style-mixing grid: each row is the row seed's own image, then its mixes.
  r = run({"generate", "--checkpoint", ckpt, "--mix-rows", "0,1", "--mix-cols", "2,3",
           "--mix-layer", "2", "-o", (dir / "mix").string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const torch::Tensor mix = ref.at("mix.images");  // [rows, cols, C, H, W]
  std::vector<torch::Tensor> tiles;
  for (int row = 0; row < 2; ++row) {
    tiles.push_back(ref.at("img.psi1").slice(0, row, row + 1));  // seed row, class row
    tiles.push_back(mix[row]);
  }
  CHECK(max_byte_diff(dir / "mix" / "mix.png", torch::cat(tiles), 3) <= 1);
  CHECK(text_of(dir / "mix" / "mix.png", "gan:mix-layer") == "2");
  CHECK(text_of(dir / "mix" / "mix.png", "gan:kind") == "mix");

  // Interpolation in w between seeds 0 and 1, both class 0.
  r = run({"generate", "--checkpoint", ckpt, "--seeds", "0,1", "--class", "0", "--interp", "lerp",
           "--interp-space", "w", "--steps", "5", "-o", (dir / "interp").string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(max_byte_diff(dir / "interp" / "interp.png", ref.at("interp.images"), 5) <= 1);
  CHECK(text_of(dir / "interp" / "interp.png", "gan:interp-space") == "w");

  r = run({"verify", (dir / "mix" / "mix.png").string(), (dir / "interp" / "interp.png").string(),
           (dir / "g" / "seed0002.png").string()});
  INFO(r.out << r.err);
  CHECK(r.code == 0);

  // Random noise is recorded and refused by verify.
  r = run({"generate", "--checkpoint", ckpt, "--seeds", "0", "--noise-mode", "random", "-o",
           (dir / "random").string()});
  REQUIRE(r.code == 0);
  r = run({"verify", (dir / "random" / "seed0000.png").string()});
  CHECK(r.code != 0);
  CHECK_THAT(r.out + r.err, Contains("random"));
  fs::remove_all(dir);
}

TEST_CASE("w-space options are usage errors for other generators and bad values", "[cli][import]") {
  const fs::path dir = temp("usage");
  const std::string dcgan = test_cli::train_tiny_checkpoint(dir / "train", {});
  for (const auto& extra :
       std::vector<std::vector<std::string>>{{"--seeds", "0", "--psi", "0.5"},
                                             {"--seeds", "0", "--noise-mode", "const"},
                                             {"--mix-rows", "0", "--mix-cols", "1"}}) {
    std::vector<std::string> args = {"generate", "--checkpoint", dcgan, "-o",
                                     (dir / "out").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run(args);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("StyleGAN2"));
  }
  const std::string ckpt = (dir / "imported.pt").string();
  REQUIRE(run({"import", kExport, "-o", ckpt}).code == 0);
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--seeds", "0", "--cutoff", "99"},
           {"--seeds", "0", "--noise-mode", "loud"},
           {"--mix-rows", "0"},
           {"--mix-rows", "0", "--mix-cols", "1", "--mix-layer", "99"},
           {"--seeds", "0,1", "--interp", "slerp", "--interp-space", "w"}}) {
    std::vector<std::string> args = {"generate", "--checkpoint", ckpt, "-o",
                                     (dir / "out").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run(args);
    INFO(r.err);
    CHECK(r.code == 2);
  }
  const auto bad = run({"import", (dir / "imported.pt").string(), "-o", (dir / "x.pt").string()});
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Contains("not a StyleGAN2 export"));
  fs::remove_all(dir);
}
