// The page of `gan serve` in a real browser: Debian's chromium, headless, loads both views from
// a server over two tiny runs; the screenshots' pixels must show the loss curve, the run's
// reals.png and a generated image, and the rendered DOM the curves' points and the best metric.
// Skipped (visibly) where chromium is not installed.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "cli_helpers.h"
#include "serve_test_util.h"
#include "test_skip.h"

namespace fs = std::filesystem;
using serve_test::runs;
using serve_test::TestServer;

namespace {

std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const fs::path p = fs::path(dir) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
  }
  return "";
}

// Runs headless chromium on `url` with `mode` (--screenshot=FILE or --dump-dom); returns the
// exit code, stdout into `out`.
int chromium(const std::string& exe, const std::string& url, const std::string& mode,
             const std::string& size, std::string& out) {
  static int n = 0;
  const fs::path base = fs::path(runs().root).parent_path() / ("chromium" + std::to_string(n++));
  fs::create_directories(base / "profile");
  std::string cmd = "timeout 90 " + test_cli::quote(exe) +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --hide-scrollbars --force-device-scale-factor=1"
                    " --user-data-dir=" +
                    test_cli::quote((base / "profile").string()) + " --window-size=" + size +
                    " --virtual-time-budget=6000 " + mode + " " + test_cli::quote(url) + " >" +
                    (base / "out").string() + " 2>" + (base / "err").string() + " </dev/null";
  const int status = std::system(cmd.c_str());
  out = serve_test::slurp((base / "out").string());
  INFO(serve_test::slurp((base / "err").string()).substr(0, 3000));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The smallest mean absolute difference per channel between `image`, scaled by `scale` with
// nearest neighbours (as image-rendering: pixelated draws it), and any place in `screen`.
double best_match(const cv::Mat& screen, const cv::Mat& image, int scale) {
  cv::Mat big, screen3 = screen, big3;
  cv::resize(image, big, {}, scale, scale, cv::INTER_NEAREST);
  if (screen.channels() == 4) cv::cvtColor(screen, screen3, cv::COLOR_BGRA2BGR);
  big3 = big;
  if (big.channels() == 1) cv::cvtColor(big, big3, cv::COLOR_GRAY2BGR);
  if (screen3.cols < big3.cols || screen3.rows < big3.rows) return 1e9;
  cv::Mat scores;
  cv::matchTemplate(screen3, big3, scores, cv::TM_SQDIFF);
  double lo = 0;
  cv::minMaxLoc(scores, &lo);
  return std::sqrt(lo / double(big3.total() * 3));  // RMS per channel value
}

// Pixels within `tol` of colour (B, G, R).
int count_colour(const cv::Mat& screen, cv::Vec3b bgr, int tol) {
  int n = 0;
  for (int y = 0; y < screen.rows; ++y) {
    for (int x = 0; x < screen.cols; ++x) {
      const uchar* p = screen.ptr<uchar>(y) + x * screen.channels();
      if (std::abs(p[0] - bgr[0]) <= tol && std::abs(p[1] - bgr[1]) <= tol &&
          std::abs(p[2] - bgr[2]) <= tol) {
        ++n;
      }
    }
  }
  return n;
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Keeps a copy for docs/serve.md when GAN_SERVE_SCREENSHOTS names a folder.
void keep(const fs::path& shot, const std::string& name) {
  if (const char* dir = std::getenv("GAN_SERVE_SCREENSHOTS")) {
    fs::copy_file(shot, fs::path(dir) / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

TEST_CASE("chromium renders the training view: curves, metrics, grids", "[serve][page]") {
  const std::string exe = find_chromium();
  if (exe.empty())
    GAN_SKIP("chromium is not installed (GAN_WITH_PYTHON=1 scripts/install_deps.sh)");
  TestServer s;
  const std::string url = s.url() + "/#view=training&run=uncond";
  std::string out;
  const fs::path shot = fs::path(runs().root).parent_path() / "training.png";
  REQUIRE(chromium(exe, url, "--screenshot=" + shot.string(), "1280,1700", out) == 0);
  const cv::Mat screen = cv::imread(shot.string(), cv::IMREAD_COLOR);
  REQUIRE(!screen.empty());
  CHECK(screen.cols == 1280);
  // The first series of every chart is drawn in #d62728: loss_d among the losses and more.
  CHECK(count_colour(screen, {40, 39, 214}, 24) > 300);
  // reals.png is shown 4x, pixel for pixel.
  const cv::Mat reals = cv::imread(runs().uncond + "/reals.png", cv::IMREAD_COLOR);
  CHECK(best_match(screen, reals, 4) < 3.0);
  keep(shot, "serve-training.png");

  // The DOM: one path per stats column with every row as a point, the best FID marked, images
  // loaded.
  REQUIRE(chromium(exe, url, "--dump-dom", "1280,1700", out) == 0);
  const std::string stats = serve_test::slurp(runs().uncond + "/stats.jsonl");
  const int rows = int(std::count(stats.begin(), stats.end(), '\n'));
  REQUIRE(rows >= 2);
  CHECK_THAT(
      out, Catch::Contains("data-series=\"loss_d\" data-points=\"" + std::to_string(rows) + "\""));
  CHECK_THAT(out, Catch::Contains("data-series=\"img_per_s\""));
  CHECK_THAT(out, Catch::Contains("data-best=\"30\""));
  CHECK(count_of(out, "data-loaded=\"1\"") == 2);  // the grid and reals.png
  CHECK_THAT(out, Catch::Contains("class=\"state finished\""));
}

TEST_CASE("chromium renders the explorer view: a generated image and an animation",
          "[serve][page]") {
  const std::string exe = find_chromium();
  if (exe.empty())
    GAN_SKIP("chromium is not installed (GAN_WITH_PYTHON=1 scripts/install_deps.sh)");
  TestServer s;
  const std::string ckpt = "uncond/" + fs::path(runs().uncond_ckpt).filename().string();
  // The image the page should show, straight from the API.
  httplib::Client c(s.url());
  auto r = c.Get(("/api/explorer/image?ckpt=" + ckpt + "&seeds=0-7&cols=4").c_str());
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const cv::Mat grid = serve_test::decode_png(r->body);
  REQUIRE(grid.cols == 64);

  const std::string url = s.url() + "/#view=explorer&mode=seeds&ckpt=" + ckpt + "&seeds=0-7&cols=4";
  std::string out;
  const fs::path shot = fs::path(runs().root).parent_path() / "explorer.png";
  REQUIRE(chromium(exe, url, "--screenshot=" + shot.string(), "1280,720", out) == 0);
  const cv::Mat screen = cv::imread(shot.string(), cv::IMREAD_COLOR);
  REQUIRE(!screen.empty());
  // Drawn at floor(min(12, 768 / 64, 512 / 32)) = 12x.
  CHECK(best_match(screen, grid, 12) < 3.0);
  keep(shot, "serve-explorer.png");

  // Interpolation as an animation: a canvas with one frame per step.
  const std::string anim = s.url() + "/#view=explorer&mode=interp&show=animate&ckpt=" + ckpt +
                           "&seeds=3,7&interp=slerp&steps=6";
  REQUIRE(chromium(exe, anim, "--dump-dom", "1280,720", out) == 0);
  CHECK_THAT(out, Catch::Contains("id=\"animation\""));
  CHECK_THAT(out, Catch::Contains("data-frames=\"6\""));
  CHECK_THAT(out, Catch::Contains("data-ready=\"1\""));
}
