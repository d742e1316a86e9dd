// `gan generate`: seeds are batch-independent, outputs are counted and sized, conditioning
// matters, interpolation endpoints are the seeds' own images, errors have the right codes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "cli_helpers.h"
#include "src/core/npy.h"
#include "src/train/checkpoint.h"
#include "tiny_checkpoint.h"

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;
using test_cli::run;

namespace {

// Trains a tiny model once per configuration and returns its last checkpoint.
std::string tiny_checkpoint(const std::string& name, const std::vector<std::string>& sets) {
  return test_cli::train_tiny_checkpoint(
      fs::temp_directory_path() / ("gan_gen_" + name + "_" + std::to_string(::getpid())), sets);
}

cv::Mat read(const fs::path& p) {
  return cv::imread(p.string(), cv::IMREAD_UNCHANGED);
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

TEST_CASE("the image of a seed does not depend on the batch size", "[cli][generate]") {
  const std::string ckpt = tiny_checkpoint("uncond", {});
  const fs::path a = fs::temp_directory_path() / ("gan_gen_a_" + std::to_string(::getpid()));
  const fs::path b = fs::temp_directory_path() / ("gan_gen_b_" + std::to_string(::getpid()));
  REQUIRE(run({"generate", "--checkpoint", ckpt, "--outdir", a.string(), "--seeds", "0-6",
               "--batch", "1"})
              .code == 0);
  auto rb = run({"generate", "--checkpoint", ckpt, "--outdir", b.string(), "--seeds", "3-6,0-2",
                 "--batch", "4", "--grid", "4x2", "--npy", (b / "all.npy").string()});
  REQUIRE(rb.code == 0);
  CHECK_THAT(rb.out, Catch::Contains("img/s"));
  int count = 0;
  for (int s = 0; s <= 6; ++s) {
    char name[32];
    std::snprintf(name, sizeof(name), "seed%04d.png", s);
    cv::Mat ia = read(a / name), ib = read(b / name);
    REQUIRE(!ia.empty());
    CHECK(ia.cols == 16);
    CHECK(ia.rows == 16);
    CHECK(ia.channels() == 3);
    CHECK(same(ia, ib));
    ++count;
  }
  CHECK(count == 7);
  cv::Mat grid = read(b / "grid.png");
  CHECK(grid.cols == 4 * 16);
  CHECK(grid.rows == 2 * 16);
  CHECK(fs::file_size(b / "all.npy") > 7 * 16 * 16 * 3);
  // Different seeds give different images.
  CHECK_FALSE(same(read(a / "seed0000.png"), read(a / "seed0001.png")));
  // Interpolation: the first and last column equal the seeds' own images.
  const fs::path c = fs::temp_directory_path() / ("gan_gen_c_" + std::to_string(::getpid()));
  REQUIRE(run({"generate", "--checkpoint", ckpt, "--outdir", c.string(), "--seeds", "2,5",
               "--interp", "slerp", "--steps", "5", "--frames", (c / "frames").string(), "--video",
               (c / "interp.avi").string()})
              .code == 0);
  CHECK(fs::exists(c / "interp.avi"));
  CHECK(fs::file_size(c / "interp.avi") > 0);
  CHECK(same(read(c / "frames" / "frame00000.png"), read(a / "seed0002.png")));
  CHECK(same(read(c / "frames" / "frame00004.png"), read(a / "seed0005.png")));
  CHECK_FALSE(same(read(c / "frames" / "frame00002.png"), read(a / "seed0002.png")));
  // Errors.
  auto cls =
      run({"generate", "--checkpoint", ckpt, "--outdir", c.string(), "--num", "2", "--class", "1"});
  CHECK(cls.code == 2);
  CHECK_THAT(cls.err, Catch::Contains("unconditional"));
  auto missing =
      run({"generate", "--checkpoint", "/nonexistent.pt", "--outdir", c.string(), "--num", "2"});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent.pt: no such checkpoint file"));
  auto unwritable =
      run({"generate", "--checkpoint", ckpt, "--outdir", "/proc/gan_no", "--num", "1"});
  CHECK(unwritable.code == 1);
  CHECK_THAT(unwritable.err, Catch::Contains("/proc/gan_no"));
  CHECK(run({"generate", "--checkpoint", ckpt, "--outdir", c.string()}).code == 2);
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

TEST_CASE("conditioning changes the output - class range is checked", "[cli][generate]") {
  const std::string ckpt = tiny_checkpoint("cond", {"model.conditional=true"});
  const fs::path d = fs::temp_directory_path() / ("gan_gen_d_" + std::to_string(::getpid()));
  REQUIRE(run({"generate", "--checkpoint", ckpt, "--outdir", d.string(), "--seeds", "0", "--class",
               "all"})
              .code == 0);
  // synthetic_shapes has 4 classes.
  for (int k = 0; k < 4; ++k) {
    CHECK(fs::exists(d / ("seed0000-class00" + std::to_string(k) + ".png")));
  }
  CHECK_FALSE(same(read(d / "seed0000-class000.png"), read(d / "seed0000-class001.png")));
  auto out_of_range =
      run({"generate", "--checkpoint", ckpt, "--outdir", d.string(), "--num", "1", "--class", "4"});
  CHECK(out_of_range.code == 2);
  CHECK_THAT(out_of_range.err, Catch::Contains("--class must be 'all' or in [0, 3] (got '4')"));
  fs::remove_all(d);
}

// Reliability defects 9 and 21: absurd arguments are usage errors (exit 2) that name the option,
// raised before any image is written; --npy streams and reads back as the images it wrote.
TEST_CASE("absurd generate arguments fail up front and write nothing", "[cli][generate]") {
  const std::string ckpt = tiny_checkpoint("bounds", {});
  const fs::path d = fs::temp_directory_path() / ("gan_gen_b_" + std::to_string(::getpid()));
  fs::remove_all(d);
  const std::vector<std::string> base = {"generate", "--checkpoint", ckpt, "--outdir", d.string()};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--seeds", "99999999999999999999"}, "--seeds: '99999999999999999999' is not a number"},
      {{"--seeds", "0-99999999999"}, "--seeds: more than 10000000 seeds"},
      {{"--num", "4", "--grid", "99999999999x1"}, "--grid must look like 8x8"},
      {{"--num", "4", "--grid", "9999x9999"}, "--grid 9999x9999 at 16 px exceeds"},
      {{"--seeds", "0-1", "--interp", "lerp", "--steps", "100000000"}, "--steps in [2, 10000]"},
      {{"--seeds", "0-9999", "--interp", "lerp", "--steps", "10000"}, "at most 10000000 images"},
      {{"--num", "2", "--threads", "100000"}, "--threads must be in [0, 4096]"},
      {{"--num", "2", "--batch", "100000"}, "--batch must be in [1, 4096]"},
      {{"--num", "100000000"}, "--num must be in [1, 10000000]"},
      {{"--num", "2", "--trunc", "-1"}, "--trunc must be finite and >= 0"},
  };
  for (const auto& [extra, message] : cases) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run(args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(message));
    CHECK_FALSE(fs::exists(d / "seed0000.png"));
  }
  fs::remove_all(d);
}

TEST_CASE("generate --npy streams every image in order", "[cli][generate]") {
  const std::string ckpt = tiny_checkpoint("npy", {});
  const fs::path d = fs::temp_directory_path() / ("gan_gen_n_" + std::to_string(::getpid()));
  fs::remove_all(d);
  const auto r = run({"generate", "--checkpoint", ckpt, "--outdir", d.string(), "--num", "37",
                      "--batch", "8", "--npy", (d / "all.npy").string(), "--grid", "6x6"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const torch::Tensor all = gan::load_npy((d / "all.npy").string());
  REQUIRE(all.sizes() == torch::IntArrayRef({37, 16, 16, 3}));
  for (int seed : {0, 8, 36}) {
    char name[32];
    std::snprintf(name, sizeof(name), "seed%04d.png", seed);
    cv::Mat png = read(d / name);
    cv::cvtColor(png, png, cv::COLOR_BGR2RGB);
    const cv::Mat row(16, 16, CV_8UC3, all[seed].contiguous().data_ptr<uint8_t>());
    CHECK(same(png, row));
  }
  // The grid, built from kept uint8 images, equals tiles of the individual files.
  const cv::Mat grid = read(d / "grid.png");
  REQUIRE(grid.cols == 6 * 16);
  CHECK(same(grid(cv::Rect(16 * 5, 16 * 5, 16, 16)).clone(), read(d / "seed0035.png")));
  CHECK(same(grid(cv::Rect(0, 0, 16, 16)).clone(), read(d / "seed0000.png")));
  // No temporary file is left beside it.
  for (const auto& e : fs::directory_iterator(d)) {
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  }
  fs::remove_all(d);
}
