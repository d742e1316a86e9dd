// A run's metric history: metric-<name>.jsonl rows and the PNG plot.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "src/metrics/metric_log.h"

#include "metrics_test_util.h"

namespace fs = std::filesystem;

namespace {
using metrics_test::fresh_dir;
}  // namespace

TEST_CASE("metric history: jsonl rows per metric and a PNG plot", "[metrics][log]") {
  const fs::path dir = fresh_dir("gan_metrics_history_test");
  for (int i = 0; i < 3; ++i) {
    gan::EvalResult r;
    r.values = {{"fid", 30.0 - 5 * i}, {"kid_mean", 0.02 / (i + 1)}, {"kid_std", 0.001}};
    r.protocol.detector = "classifier:c.pt";
    gan::append_metric_jsonl(dir.string(), {"fid", "kid"}, r, 10.0 * i, 100 * i,
                             "ckpt-" + std::to_string(i) + ".pt");
  }
  std::ifstream in(dir / "metric-fid.jsonl");
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 3);
  CHECK(rows[2]["kimg"] == 20.0);
  CHECK(rows[2]["results"]["fid"] == 20.0);
  CHECK(rows[2]["results"].count("kid_mean") == 0);  // each file holds its own metric
  CHECK(rows[0]["protocol"]["detector"] == "classifier:c.pt");
  const std::string png = gan::plot_metric_history(dir.string(), "kid");
  cv::Mat img = cv::imread(png);
  CHECK(img.cols == 640);
  CHECK(img.rows == 400);
  CHECK(gan::plot_metric_history(dir.string(), "is").empty());  // no history yet
}
