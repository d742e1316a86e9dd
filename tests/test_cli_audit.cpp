// `gan audit` end to end on tiny image folders: copies of the training folder are flagged, fresh
// images from the same distribution are not; bad input exits with a clear message.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli_helpers.h"

namespace fs = std::filesystem;
using test_cli::run;

namespace {

// Smooth random 16x16 RGB images: 4x4 random colours, bilinearly enlarged.
cv::Mat random_image(cv::RNG& rng) {
  cv::Mat small(4, 4, CV_8UC3), big;
  rng.fill(small, cv::RNG::UNIFORM, 0, 256);
  cv::resize(small, big, {16, 16}, 0, 0, cv::INTER_LINEAR);
  return big;
}

void write_folder(const fs::path& dir, const std::vector<cv::Mat>& images) {
  fs::create_directories(dir);
  for (size_t i = 0; i < images.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%05zu.png", i);
    REQUIRE(cv::imwrite((dir / name).string(), images[i]));
  }
}

struct Fixture {
  fs::path root;
  std::string classifier;
  Fixture() {
    root = fs::temp_directory_path() / ("gan_audit_" + std::to_string(::getpid()));
    fs::remove_all(root);
    cv::RNG rng(1234);
    std::vector<cv::Mat> train, held, fresh, copies;
    for (int i = 0; i < 400; ++i) train.push_back(random_image(rng));
    for (int i = 0; i < 300; ++i) held.push_back(random_image(rng));
    for (int i = 0; i < 300; ++i) fresh.push_back(random_image(rng));
    for (int i = 0; i < 300; ++i) copies.push_back(train[(i * 7) % 400].clone());
    write_folder(root / "train", train);
    write_folder(root / "held", held);
    write_folder(root / "fresh", fresh);
    write_folder(root / "copies", copies);
    write_folder(root / "three", {fresh[0], fresh[1], fresh[2]});
    classifier = (root / "classifier.pt").string();
    auto tc = run({"train-classifier", "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                   "--steps", "5", "--out", classifier});
    INFO(tc.err);
    REQUIRE(tc.code == 0);
  }
  std::vector<std::string> audit(const std::string& fake, const std::string& out) const {
    return {"audit",
            "--fake",
            (root / fake).string(),
            "--real",
            (root / "train").string(),
            "--held-out",
            (root / "held").string(),
            "--detector",
            "classifier",
            "--detector-path",
            classifier,
            "--ct-cells",
            "4",
            "--percentile",
            "5",
            "--out",
            (root / out).string()};
  }
};

}  // namespace

TEST_CASE("gan audit flags copies of the training folder, not fresh images", "[cli][audit]") {
  Fixture fx;
  auto copy = run(fx.audit("copies", "audit_copies"));
  INFO(copy.err);
  REQUIRE(copy.code == 0);
  CHECK_THAT(copy.out, Catch::Contains("COPYING SUSPECTED"));
  CHECK_THAT(copy.out, Catch::Contains("protocol: detector classifier"));
  const nlohmann::json j =
      nlohmann::json::parse(test_cli::slurp((fx.root / "audit_copies" / "audit.json").string()));
  CHECK(j["copy_rate"].get<double>() == 1.0);
  CHECK(j["copy_rate_pixels"].get<double>() == 1.0);
  CHECK(j["authenticity"].get<double>() == 0.0);
  CHECK(j["ct"].get<double>() < -5);
  CHECK(j.contains("class_balance"));  // the classifier detector predicts classes
  for (const char* f :
       {"closest_pairs.png", "nn_distances.png", "class_balance.png", "nearest.csv"})
    CHECK(fs::exists(fx.root / "audit_copies" / f));

  auto fresh = run(fx.audit("fresh", "audit_fresh"));
  INFO(fresh.err);
  REQUIRE(fresh.code == 0);
  CHECK_THAT(fresh.out, Catch::Contains("no sign of training-set copying"));

  // Fewer fakes than the k-means cells of C_T.
  auto few = run(fx.audit("three", "audit_three"));
  CHECK(few.code == 1);
  CHECK_THAT(few.err, Catch::Contains("fewer than the 4 k-means cells"));
  // Class balance with a detector that knows no labels of this data.
  std::vector<std::string> args = fx.audit("fresh", "audit_x");
  args.insert(args.end(), {"--classes", "on", "--detector", "inception_native"});
  auto nolabels = run(args);
  CHECK(nolabels.code == 2);
  CHECK_THAT(nolabels.err, Catch::Contains("has no labels"));
  // A folder --real without a held-out set.
  auto noheld = run(
      {"audit", "--fake", (fx.root / "fresh").string(), "--real", (fx.root / "train").string()});
  CHECK(noheld.code == 2);
  CHECK_THAT(noheld.err, Catch::Contains("--held-out"));
}

TEST_CASE("gan audit of a checkpoint writes into its run folder", "[cli][audit]") {
  Fixture fx;
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  auto tr = run({"train", "--config", cfg, "--outdir", (fx.root / "runs").string(), "--set",
                 "train.steps=2"});
  REQUIRE(tr.code == 0);
  const fs::path run_dir = fx.root / "runs" / "00000-synthetic_shapes_tiny";
  std::string ckpt;
  for (const auto& e : fs::directory_iterator(run_dir / "checkpoints"))
    if (e.path().extension() == ".pt") ckpt = e.path().string();
  REQUIRE(!ckpt.empty());
  auto au =
      run({"audit", "--checkpoint", ckpt, "--num", "64", "--detector-path", fx.classifier,
           "--ct-cells", "4", "--ct-min-fakes", "5", "--cache-dir", (fx.root / "cache").string()});
  INFO(au.err);
  REQUIRE(au.code == 0);
  CHECK_THAT(au.out, Catch::Contains("verdict:"));
  const nlohmann::json j =
      nlohmann::json::parse(test_cli::slurp((run_dir / "audit" / "audit.json").string()));
  CHECK(j["counts"]["fake"].get<int64_t>() == 64);
  CHECK(j["protocol"]["fake_source"].get<std::string>().find("G_ema") != std::string::npos);
  // Class metrics of an unconditional checkpoint: a usage error naming the reason.
  auto cas = run({"audit", "--checkpoint", ckpt, "--num", "64", "--detector-path", fx.classifier,
                  "--cas-steps", "2"});
  CHECK(cas.code == 2);
  CHECK_THAT(cas.err, Catch::Contains("unconditional"));
}

TEST_CASE("CAS of a conditional checkpoint: both classifiers scored on the held-out split",
          "[cli][audit]") {
  Fixture fx;
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  auto tr = run({"train", "--config", cfg, "--outdir", (fx.root / "cond").string(), "--set",
                 "train.steps=2", "--set", "model.conditional=true"});
  INFO(tr.err);
  REQUIRE(tr.code == 0);
  std::string ckpt;
  for (const auto& e :
       fs::directory_iterator(fx.root / "cond" / "00000-synthetic_shapes_tiny" / "checkpoints"))
    if (e.path().extension() == ".pt") ckpt = e.path().string();
  REQUIRE(!ckpt.empty());
  auto au = run({"audit", "--checkpoint", ckpt, "--num", "64", "--detector-path", fx.classifier,
                 "--ct-cells", "4", "--ct-min-fakes", "5", "--cas-steps", "100", "--json",
                 (fx.root / "cas.json").string()});
  INFO(au.err);
  REQUIRE(au.code == 0);
  CHECK_THAT(au.out, Catch::Contains("CAS"));
  const nlohmann::json j = nlohmann::json::parse(test_cli::slurp((fx.root / "cas.json").string()));
  REQUIRE(j.contains("cas"));
  const double cas = j["cas"]["cas"].get<double>();
  const double real = j["cas"]["real_trained_acc"].get<double>();
  CHECK(cas >= 0.0);
  CHECK(cas <= 1.0);
  CHECK(j["cas"]["steps"].get<int64_t>() == 100);
  CHECK(j["cas"]["test_images"].get<int64_t>() > 0);
  // The same classifier trained on real shapes separates the 4 classes far above chance (0.25);
  // the 2-step generator's images teach it much less.
  INFO("CAS " << cas << ", real-trained accuracy " << real);
  CHECK(real > 0.5);
  CHECK(real > cas + 0.1);
}
