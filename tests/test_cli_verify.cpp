// Provenance end to end: gan generate writes PNG text and manifest.json, gan verify regenerates
// bit-identical images, and finds changed pixels, another checkpoint, copied files, missing
// checkpoints and foreign images.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <filesystem>

#include "cli_helpers.h"
#include "data/png_text.h"
#include "src/core/files.h"
#include "src/train/checkpoint.h"
#include "tiny_checkpoint.h"

namespace fs = std::filesystem;
using Catch::Contains;
using test_cli::run;

namespace {

fs::path temp(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("gan_verify_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

// A tiny trained model (seconds); `sets` vary it.
std::string tiny_checkpoint(const std::string& name, const std::vector<std::string>& sets) {
  return test_cli::train_tiny_checkpoint(temp("train_" + name), sets);
}

// coreutils' sha256sum: an implementation independent of the one gan uses.
std::string sha256sum(const fs::path& file) {
  const std::string cmd = "sha256sum " + test_cli::quote(file.string()) + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return "";
  char buf[128] = {0};
  const size_t n = std::fread(buf, 1, 64, pipe);
  ::pclose(pipe);
  return std::string(buf, n);
}

}  // namespace

TEST_CASE("generate -> verify: bit-identical, changed pixels, another checkpoint, copies",
          "[cli][verify]") {
  const std::string ckpt = tiny_checkpoint("a", {});
  const std::string other = tiny_checkpoint("b", {"runtime.seed=2"});
  const fs::path out = temp("out");
  auto g = run({"generate", "--checkpoint", ckpt, "--outdir", out.string(), "--seeds", "0-3",
                "--grid", "3x1", "--trunc", "1.5", "--batch", "3"});
  INFO(g.err);
  REQUIRE(g.code == 0);

  // The metadata names the checkpoint by hash, and the seed.
  const gan::PngText text =
      gan::read_png_text(gan::read_file((out / "seed0002.png").string()), "seed0002.png");
  REQUIRE(gan::find_png_text(text, "gan:seed"));
  CHECK(*gan::find_png_text(text, "gan:seed") == "2");
  CHECK(*gan::find_png_text(text, "gan:truncation") == "1.5");
  const std::string ckpt_sha = sha256sum(ckpt);
  REQUIRE(ckpt_sha.size() == 64);  // sha256sum is part of coreutils
  CHECK(*gan::find_png_text(text, "gan:checkpoint-sha256") == ckpt_sha);

  // manifest.json: the shared settings and the SHA-256 of every file's bytes.
  const nlohmann::json manifest =
      nlohmann::json::parse(gan::read_file((out / "manifest.json").string()));
  CHECK(manifest["checkpoint_sha256"] == ckpt_sha);
  CHECK(manifest["truncation"] == 1.5);
  REQUIRE(manifest["images"].size() == 5);  // 4 seeds + grid.png
  for (const auto& e : manifest["images"]) {
    CHECK(e["sha256"] == sha256sum(out / e["file"].get<std::string>()));
  }
  CHECK(manifest["images"][4]["file"] == "grid.png");
  CHECK(manifest["images"][4]["tiles"].size() == 3);

  // Round trip: every image, the grid too, regenerates bit for bit.
  std::vector<std::string> all = {"verify"};
  for (const char* f :
       {"seed0000.png", "seed0001.png", "seed0002.png", "seed0003.png", "grid.png"}) {
    all.push_back((out / f).string());
  }
  const fs::path json = out / "verify.json";
  all.insert(all.end(), {"--json", json.string()});
  auto v = run(all);
  INFO(v.out << v.err);
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Contains("seed0002.png: bit-identical"));
  CHECK_THAT(v.out, Contains("grid.png: bit-identical"));
  CHECK_THAT(v.out, Contains("5 images: 5 bit-identical, 0 differ, 0 cannot be verified"));
  const nlohmann::json verdicts = nlohmann::json::parse(gan::read_file(json.string()));
  CHECK(verdicts["identical"] == 5);

  // Metadata survives a copy to another folder.
  const fs::path copy = temp("copy");
  fs::create_directories(copy);
  fs::copy_file(out / "seed0001.png", copy / "mine.png");
  auto vc = run({"verify", (copy / "mine.png").string()});
  CHECK(vc.code == 0);
  CHECK_THAT(vc.out, Contains("mine.png: bit-identical"));

  // One changed pixel (the metadata kept) is found, with its size.
  {
    const std::string bytes = gan::read_file((out / "seed0003.png").string());
    cv::Mat image = cv::imread((out / "seed0003.png").string(), cv::IMREAD_UNCHANGED);
    REQUIRE(!image.empty());
    cv::Vec3b& px = image.at<cv::Vec3b>(5, 7);
    px[1] = uchar(px[1] < 128 ? px[1] + 9 : px[1] - 9);
    gan::save_png((copy / "tampered.png").string(), image,
                  gan::read_png_text(bytes, "seed0003.png"));
  }
  auto vt = run({"verify", (copy / "tampered.png").string(), (copy / "mine.png").string()});
  CHECK(vt.code == 1);
  CHECK_THAT(vt.out, Contains("tampered.png: DIFFERS: max pixel difference 9 in 1 of 768 values"));
  CHECK_THAT(vt.out, Contains("mine.png: bit-identical"));

  // Another checkpoint: given explicitly, or found at the recorded path.
  auto vo = run({"verify", (out / "seed0000.png").string(), "--checkpoint", other});
  CHECK(vo.code == 1);
  CHECK_THAT(vo.out, Contains("cannot verify: " + other + " is another checkpoint"));
  // The right one given explicitly, or its run folder (searched by hash).
  CHECK(run({"verify", (out / "seed0000.png").string(), "--checkpoint", ckpt}).code == 0);
  CHECK(run({"verify", (out / "seed0000.png").string(), "--checkpoint",
             fs::path(ckpt).parent_path().parent_path().string()})
            .code == 0);

  // The checkpoint moved away: named as missing, found again through --checkpoint.
  const fs::path moved = temp("moved");
  fs::create_directories(moved);
  fs::copy_file(ckpt, moved / "model.pt");
  const fs::path out2 = temp("out2");
  REQUIRE(run({"generate", "--checkpoint", (moved / "model.pt").string(), "--outdir", out2.string(),
               "--seeds", "5"})
              .code == 0);
  fs::rename(moved / "model.pt", moved / "renamed.pt");
  auto vm = run({"verify", (out2 / "seed0005.png").string()});
  CHECK(vm.code == 1);
  CHECK_THAT(vm.out, Contains("does not exist (give --checkpoint)"));
  CHECK(run({"verify", (out2 / "seed0005.png").string(), "--checkpoint",
             (moved / "renamed.pt").string()})
            .code == 0);
  // A different file at the recorded path is another checkpoint.
  fs::copy_file(other, moved / "model.pt");
  auto vr = run({"verify", (out2 / "seed0005.png").string()});
  CHECK(vr.code == 1);
  CHECK_THAT(vr.out, Contains("is another checkpoint"));

  for (const auto& p : {out, copy, moved, out2}) fs::remove_all(p);
}

TEST_CASE("verify: interpolations, conditional classes and JPG manifests", "[cli][verify]") {
  const std::string ckpt = tiny_checkpoint("cond", {"model.conditional=true"});
  const fs::path out = temp("interp");
  REQUIRE(run({"generate", "--checkpoint", ckpt, "--outdir", out.string(), "--seeds", "2,5,6",
               "--interp", "slerp", "--steps", "4", "--frames", (out / "frames").string(),
               "--class", "3"})
              .code == 0);
  auto v =
      run({"verify", (out / "interp.png").string(), (out / "frames" / "frame00002.png").string(),
           (out / "frames" / "frame00005.png").string()});
  INFO(v.out << v.err);
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Contains("3 images: 3 bit-identical"));
  // The frames folder has its own manifest.
  const nlohmann::json fm =
      nlohmann::json::parse(gan::read_file((out / "frames" / "manifest.json").string()));
  CHECK(fm["images"].size() == 8);  // 2 pairs x 4 steps
  CHECK(fm["images"][5]["interp_to"] == 6);
  CHECK(fm["images"][5]["class"] == 3);

  const fs::path jpg = temp("jpg");
  REQUIRE(run({"generate", "--checkpoint", ckpt, "--outdir", jpg.string(), "--seeds", "0-1",
               "--class", "all", "--format", "jpg"})
              .code == 0);
  const nlohmann::json m = nlohmann::json::parse(gan::read_file((jpg / "manifest.json").string()));
  REQUIRE(m["images"].size() == 8);  // 2 seeds x 4 classes
  CHECK(m["images"][1]["file"] == "seed0000-class001.jpg");
  CHECK(m["images"][1]["class"] == 1);
  CHECK(m["images"][1]["sha256"] == sha256sum(jpg / "seed0000-class001.jpg"));
  auto vj = run({"verify", (jpg / "seed0000-class001.jpg").string()});
  CHECK(vj.code == 1);
  CHECK_THAT(vj.out, Contains("cannot verify: not a PNG"));
  for (const auto& p : {out, jpg}) fs::remove_all(p);
}

TEST_CASE("verify: foreign images and usage errors", "[cli][verify]") {
  const fs::path dir = temp("foreign");
  fs::create_directories(dir);
  REQUIRE(cv::imwrite((dir / "plain.png").string(), cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3))));
  auto v = run({"verify", (dir / "plain.png").string(), (dir / "absent.png").string()});
  CHECK(v.code == 1);
  CHECK_THAT(v.out, Contains("plain.png: cannot verify: no gan provenance metadata"));
  CHECK_THAT(v.out, Contains("absent.png: cannot verify:"));
  CHECK_THAT(v.out, Contains("2 images: 0 bit-identical, 0 differ, 2 cannot be verified"));
  CHECK(run({"verify"}).code == 2);
  auto bad = run({"verify", (dir / "plain.png").string(), "--checkpoint", "/nonexistent.pt"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Contains("/nonexistent.pt"));
  fs::remove_all(dir);
}
