#include "src/metrics/metric_log.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "src/core/files.h"

namespace gan {

void append_metric_jsonl(const std::string& run_dir, const std::vector<std::string>& metrics,
                         const EvalResult& result, double kimg, int64_t step,
                         const std::string& snapshot) {
  for (const auto& m : metrics) {
    nlohmann::json row = {{"metric", m}, {"kimg", kimg}, {"step", step}, {"snapshot", snapshot}};
    nlohmann::json values = nlohmann::json::object();
    for (const auto& k : metric_spec(m).outputs)
      if (result.values.count(k)) values[k] = result.values.at(k);
    row["results"] = values;
    row["protocol"] = result.protocol.to_json();
    append_line((std::filesystem::path(run_dir) / ("metric-" + m + ".jsonl")).string(), row.dump());
  }
}

std::string plot_metric_history(const std::string& run_dir, const std::string& metric) {
  const auto path = std::filesystem::path(run_dir) / ("metric-" + metric + ".jsonl");
  std::ifstream in(path);
  if (!in) return "";
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      for (auto& kv : j.at("results").items())
        series[kv.key()].push_back({j.at("kimg").get<double>(), kv.value().get<double>()});
    } catch (const std::exception& e) {
      spdlog::warn("{}: skipping unreadable line: {}", path.string(), e.what());
    }
  }
  if (series.empty()) return "";
  const int w = 640, h = 400, left = 70, right = 20, top = 30, bottom = 50;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (auto& s : series) {
    std::sort(s.second.begin(), s.second.end());
    for (auto& p : s.second) {
      x0 = std::min(x0, p.first), x1 = std::max(x1, p.first);
      y0 = std::min(y0, p.second), y1 = std::max(y1, p.second);
    }
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1e-9 + std::abs(y0) * 0.1;
  auto px = [&](double x) {
    return left + static_cast<int>((x - x0) / (x1 - x0) * (w - left - right));
  };
  auto py = [&](double y) {
    return h - bottom - static_cast<int>((y - y0) / (y1 - y0) * (h - top - bottom));
  };
  cv::rectangle(img, {left, top}, {w - right, h - bottom}, cv::Scalar(0, 0, 0));
  const cv::Scalar colors[] = {{200, 60, 30}, {30, 130, 220}, {40, 160, 60}, {150, 40, 160}};
  int ci = 0;
  for (auto& s : series) {
    const cv::Scalar col = colors[ci % 4];
    for (size_t i = 0; i < s.second.size(); ++i) {
      cv::Point p(px(s.second[i].first), py(s.second[i].second));
      cv::circle(img, p, 3, col, cv::FILLED, cv::LINE_AA);
      if (i)
        cv::line(img, {px(s.second[i - 1].first), py(s.second[i - 1].second)}, p, col, 2,
                 cv::LINE_AA);
    }
    cv::putText(img, s.first, {left + 10, top + 18 + 18 * ci}, cv::FONT_HERSHEY_SIMPLEX, 0.5, col,
                1, cv::LINE_AA);
    ++ci;
  }
  auto fmt = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", v);
    return std::string(b);
  };
  cv::putText(img, fmt(y1), {5, top + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, fmt(y0), {5, h - bottom}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0}, 1,
              cv::LINE_AA);
  cv::putText(img, fmt(x0), {left, h - bottom + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0}, 1,
              cv::LINE_AA);
  cv::putText(img, fmt(x1) + " kimg", {w - right - 90, h - bottom + 18}, cv::FONT_HERSHEY_SIMPLEX,
              0.4, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, metric + " vs kimg", {w / 2 - 60, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.55, {0, 0, 0},
              1, cv::LINE_AA);
  const std::string png = (std::filesystem::path(run_dir) / ("metric-" + metric + ".png")).string();
  if (!cv::imwrite(png, img)) spdlog::warn("cannot write {}", png);
  return png;
}

}  // namespace gan
