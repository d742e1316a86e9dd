#include "src/metrics/audit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "data/image_grid.h"
#include "src/core/atomic_write.h"
#include "src/core/errors.h"
#include "src/metrics/class_balance.h"
#include "src/metrics/copy_detection.h"
#include "src/metrics/nearest_neighbors.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

nlohmann::json summary(const torch::Tensor& d) {
  return {{"min", d.min().item<double>()},
          {"p1", percentile(d, 1)},
          {"median", percentile(d, 50)},
          {"mean", d.mean().item<double>()}};
}

torch::Tensor flat(const torch::Tensor& pixels) {
  return pixels.reshape({pixels.size(0), -1});
}

// Fake beside its nearest training image, `pairs` pairs (closest first), 4 pairs per row.
void closest_pairs_grid(const std::string& path, const AuditSet& train, const AuditSet& fake,
                        const NearestNeighbors& nn, int64_t pairs) {
  const torch::Tensor order = nn.dist.argsort().slice(0, 0, pairs);
  const torch::Tensor f = fake.pixels.index_select(0, order);
  const torch::Tensor t = train.pixels.index_select(0, nn.index.index_select(0, order));
  const torch::Tensor both = torch::stack({f, t}, 1).flatten(0, 1);  // f0 t0 f1 t1 ...
  // make_grid quantises [-1, 1] as x * 127.5 + 128, truncated: (v - 127.5) / 127.5 maps back to v.
  save_image_grid(path, (both.to(torch::kFloat32) - 127.5) / 127.5, 8);
}

// Histograms of the fake->train and held-out->train distances, overlaid.
void distance_histogram(const std::string& path, const torch::Tensor& fake_d,
                        const torch::Tensor& held_d, double threshold) {
  const int bins = 60, w = 640, h = 300, left = 40, bottom = 40, top = 30;
  const double hi = std::max(percentile(fake_d, 99.5), percentile(held_d, 99.5)) * 1.05 + 1e-12;
  auto hist = [&](const torch::Tensor& d) {
    torch::Tensor c = torch::histc(d.to(torch::kFloat64).clamp_max(hi), bins, 0, hi);
    return c / c.sum();
  };
  const torch::Tensor hf = hist(fake_d), hh = hist(held_d);
  const double vmax = std::max(hf.max().item<double>(), hh.max().item<double>()) + 1e-12;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  const int plot_w = w - left - 10, plot_h = h - bottom - top;
  auto draw = [&](const torch::Tensor& hs, const cv::Scalar& col) {
    std::vector<cv::Point> pts;
    for (int b = 0; b < bins; ++b) {
      const int x0 = left + plot_w * b / bins, x1 = left + plot_w * (b + 1) / bins;
      const int y = top + plot_h - static_cast<int>(plot_h * hs[b].item<double>() / vmax);
      pts.push_back({x0, y});
      pts.push_back({x1, y});
    }
    cv::polylines(img, pts, false, col, 2);
  };
  draw(hh, cv::Scalar(180, 119, 31));
  draw(hf, cv::Scalar(14, 127, 255));
  const int tx = left + static_cast<int>(plot_w * std::min(threshold / hi, 1.0));
  cv::line(img, {tx, top}, {tx, top + plot_h}, cv::Scalar(40, 40, 200), 1);
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar black(0, 0, 0);
  cv::line(img, {left, top + plot_h}, {w - 10, top + plot_h}, black);
  for (int k = 0; k <= 4; ++k)
    cv::putText(img, cv::format("%.3g", hi * k / 4), {left + plot_w * k / 4 - 10, h - 20}, font,
                0.35, black);
  cv::putText(img, "distance to nearest training image (detector features)", {left, h - 5}, font,
              0.4, black);
  cv::putText(img, "held-out real", {left, 18}, font, 0.45, cv::Scalar(180, 119, 31));
  cv::putText(img, "generated", {left + 130, 18}, font, 0.45, cv::Scalar(14, 127, 255));
  cv::putText(img, "copy threshold", {left + 240, 18}, font, 0.45, cv::Scalar(40, 40, 200));
  save_image(path, img);
}

void check_set(const AuditSet& s, const char* name, int64_t dim) {
  if (!s.features.defined() || s.features.dim() != 2)
    throw DataError(std::string("audit: the ") + name + " set needs [N, D] features");
  if (s.features.size(1) != dim)
    throw DataError(std::string("audit: the ") + name + " features have " +
                    std::to_string(s.features.size(1)) + " dimensions, the training features " +
                    std::to_string(dim) + " (the same detector must see every set)");
  if (s.pixels.defined() && s.pixels.size(0) != s.features.size(0))
    throw DataError(std::string("audit: the ") + name + " set has " +
                    std::to_string(s.pixels.size(0)) + " images but " +
                    std::to_string(s.features.size(0)) + " feature rows");
}

}  // namespace

AuditResult run_audit(const AuditSet& train, const AuditSet& heldout, const AuditSet& fake,
                      const AuditOptions& o, const std::string& out_dir) {
  torch::NoGradGuard no_grad;
  if (!train.features.defined() || train.features.dim() != 2)
    throw DataError("audit: the training set needs [N, D] features");
  const int64_t dim = train.features.size(1);
  check_set(heldout, "held-out", dim);
  check_set(fake, "generated", dim);
  if (!(o.percentile > 0 && o.percentile < 100))
    throw DataError("audit: the copy percentile must be in (0, 100)");
  if (o.ct_cells < 1) throw DataError("audit: the data-copying test needs at least 1 cell");
  if (fake.features.size(0) < o.ct_cells)
    throw DataError(
        "audit: " + std::to_string(fake.features.size(0)) +
        " generated images are fewer than the " + std::to_string(o.ct_cells) +
        " k-means cells of the data-copying test (k); generate more or lower the cells");
  if (train.features.size(0) < std::max<int64_t>(o.ct_cells, 2) ||
      heldout.features.size(0) < o.ct_cells)
    throw DataError("audit: the training and held-out sets need at least " +
                    std::to_string(std::max<int64_t>(o.ct_cells, 2)) + " images each");
  const bool pixels = train.pixels.defined() && heldout.pixels.defined() && fake.pixels.defined();
  if (pixels && (train.pixels.sizes().slice(1) != fake.pixels.sizes().slice(1) ||
                 heldout.pixels.sizes().slice(1) != fake.pixels.sizes().slice(1)))
    throw DataError("audit: pixel comparison needs images of one size and channel count");
  if (!out_dir.empty()) fs::create_directories(out_dir);

  AuditResult res;
  nlohmann::json& j = res.json;
  nlohmann::json timing;
  j["counts"] = {{"train", train.features.size(0)},
                 {"heldout", heldout.features.size(0)},
                 {"fake", fake.features.size(0)},
                 {"feature_dim", dim}};

  // ---- nearest neighbours in feature space ------------------------------------------------
  auto t0 = Clock::now();
  const NearestNeighbors nf = nearest_neighbors(fake.features, train.features);
  const NearestNeighbors nh = nearest_neighbors(heldout.features, train.features);
  timing["nn_features"] = seconds_since(t0);
  t0 = Clock::now();
  // The neighbour radius of only those training points that are some image's nearest neighbour.
  const torch::Tensor needed = std::get<0>(torch::_unique(torch::cat({nf.index, nh.index})));
  torch::Tensor radius = torch::full({train.features.size(0)},
                                     std::numeric_limits<double>::quiet_NaN(), torch::kFloat64);
  radius.index_copy_(0, needed, nearest_within(train.features, needed).dist);
  timing["nn_train_radii"] = seconds_since(t0);
  j["counts"]["train_radii"] = needed.numel();

  const CopyRate cr = copy_rate(nf.dist, nh.dist, o.percentile);
  const torch::Tensor auth_f = authentic_mask(nf.dist, nf.index, radius);
  const torch::Tensor auth_h = authentic_mask(nh.dist, nh.index, radius);
  const double authenticity = auth_f.to(torch::kFloat64).mean().item<double>();
  const double held_auth = auth_h.to(torch::kFloat64).mean().item<double>();
  nlohmann::json feat = {{"fake_nn", summary(nf.dist)},    {"heldout_nn", summary(nh.dist)},
                         {"copy_threshold", cr.threshold}, {"copy_rate", cr.rate},
                         {"authenticity", authenticity},   {"heldout_authenticity", held_auth}};

  // ---- data-copying test C_T ---------------------------------------------------------------
  t0 = Clock::now();
  const torch::Tensor centroids = kmeans(train.features, o.ct_cells, o.seed);
  const CtResult ct =
      data_copying_ct(train.features, assign_cells(train.features, centroids), heldout.features,
                      assign_cells(heldout.features, centroids), fake.features,
                      assign_cells(fake.features, centroids), o.ct_cells, o.ct_min_fakes);
  timing["ct"] = seconds_since(t0);
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : ct.cells)
    cells.push_back({{"train", c.train},
                     {"heldout", c.heldout},
                     {"fake", c.fake},
                     {"used", c.used},
                     {"z", c.used ? nlohmann::json(c.z) : nlohmann::json(nullptr)}});
  feat["ct"] = ct.ct;
  feat["ct_cells_used"] = ct.cells_used;
  feat["ct_fake_share_used"] = ct.fake_share_used;
  feat["ct_cells"] = cells;
  j["features"] = feat;
  j["copy_rate"] = cr.rate;
  j["authenticity"] = authenticity;
  j["heldout_authenticity"] = held_auth;
  j["ct"] = ct.ct;

  // ---- pixel space ---------------------------------------------------------------------------
  NearestNeighbors pf, ph;
  CopyRate pcr;
  if (pixels) {
    t0 = Clock::now();
    const torch::Tensor tp = flat(train.pixels);
    pf = nearest_neighbors(flat(fake.pixels), tp);
    ph = nearest_neighbors(flat(heldout.pixels), tp);
    timing["nn_pixels"] = seconds_since(t0);
    pcr = copy_rate(pf.dist, ph.dist, o.percentile);
    j["pixels"] = {{"fake_nn", summary(pf.dist)},
                   {"heldout_nn", summary(ph.dist)},
                   {"copy_threshold", pcr.threshold},
                   {"copy_rate", pcr.rate},
                   {"scale", "uint8 0..255 per value, Euclidean over C*H*W values"}};
    j["copy_rate_pixels"] = pcr.rate;
  }

  // ---- closest pairs ---------------------------------------------------------------------------
  nlohmann::json closest = nlohmann::json::array();
  const torch::Tensor order = nf.dist.argsort();
  for (int64_t i = 0; i < std::min<int64_t>(o.pairs, order.size(0)); ++i) {
    const int64_t f = order[i].item<int64_t>();
    nlohmann::json p = {{"fake", f},
                        {"train", nf.index[f].item<int64_t>()},
                        {"feature_dist", nf.dist[f].item<double>()}};
    if (pixels)
      p["pixel_dist_to_that_train_image"] =
          (flat(fake.pixels)[f].to(torch::kFloat64) -
           flat(train.pixels)[nf.index[f].item<int64_t>()].to(torch::kFloat64))
              .pow(2)
              .sum()
              .sqrt()
              .item<double>();
    closest.push_back(p);
  }
  j["closest_pairs"] = closest;

  // ---- classes -------------------------------------------------------------------------------
  if (o.num_classes > 0 && fake.classes.defined() && train.classes.defined()) {
    const ClassBalance b = class_balance(fake.classes, train.classes, o.num_classes);
    auto name = [&](int64_t c) {
      return c < static_cast<int64_t>(o.class_names.size()) ? o.class_names[c] : std::to_string(c);
    };
    j["class_balance"] = {{"fake", b.fake},
                          {"real", b.real},
                          {"kl_fake_real", b.kl},
                          {"tv", b.tv},
                          {"most_over",
                           {{"class", b.most_over},
                            {"name", name(b.most_over)},
                            {"excess", b.fake[b.most_over] - b.real[b.most_over]}}},
                          {"most_under",
                           {{"class", b.most_under},
                            {"name", name(b.most_under)},
                            {"deficit", b.real[b.most_under] - b.fake[b.most_under]}}},
                          {"real_from", "training labels"},
                          {"fake_from", "classifier detector predictions"}};
    j["class_tv"] = b.tv;
    j["class_kl"] = b.kl;
    if (!out_dir.empty()) {
      const std::string p = (fs::path(out_dir) / "class_balance.png").string();
      plot_class_balance(p, b, o.class_names);
      res.files.push_back(p);
    }
    if (fake.requested.defined()) {
      const IntraClassFid ic = intra_class_fid(train.features, train.classes, fake.features,
                                               fake.requested, o.num_classes);
      nlohmann::json per = nlohmann::json::array();
      for (double v : ic.per_class)
        per.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
      const double acc = fake.classes.eq(fake.requested).to(torch::kFloat64).mean().item<double>();
      j["conditional"] = {{"intra_fid", per}, {"intra_fid_mean", ic.mean}, {"class_acc", acc}};
      j["intra_fid_mean"] = ic.mean;
      j["class_acc"] = acc;
    }
  }

  // ---- verdict
  // -----------------------------------------------------------------------------------
  const double rate_limit = o.copy_rate_factor * o.percentile / 100.0;
  std::vector<std::string> flags;
  if (ct.ct < o.ct_flag) flags.push_back(cv::format("C_T %.2f < %.1f", ct.ct, o.ct_flag));
  if (cr.rate > rate_limit)
    flags.push_back(cv::format("feature copy rate %.4f > %.4f", cr.rate, rate_limit));
  if (pixels && pcr.rate > rate_limit)
    flags.push_back(cv::format("pixel copy rate %.4f > %.4f", pcr.rate, rate_limit));
  if (authenticity < held_auth - o.authenticity_margin)
    flags.push_back(cv::format("authenticity %.3f < held-out %.3f - %.2f", authenticity, held_auth,
                               o.authenticity_margin));
  res.copying = !flags.empty();
  std::ostringstream v;
  if (res.copying) {
    v << "verdict: COPYING SUSPECTED (";
    for (size_t i = 0; i < flags.size(); ++i) v << (i ? "; " : "") << flags[i];
    v << ")\n";
  } else {
    v << "verdict: no sign of training-set copying\n";
  }
  v << cv::format("  copy rate %.4f (features), ", cr.rate)
    << (pixels ? cv::format("%.4f (pixels); ", pcr.rate) : std::string("pixels not compared; "))
    << cv::format("held-out images fall below the threshold %.2f%% of the time by construction\n",
                  o.percentile)
    << cv::format("  authenticity %.3f (held-out real: %.3f); C_T %.2f over %lld of %lld cells\n",
                  authenticity, held_auth, ct.ct, static_cast<long long>(ct.cells_used),
                  static_cast<long long>(o.ct_cells));
  if (j.contains("class_tv"))
    v << cv::format("  class balance: TV %.3f, KL %.3f", j["class_tv"].get<double>(),
                    j["class_kl"].get<double>())
      << "; most over-represented " << j["class_balance"]["most_over"]["name"].get<std::string>()
      << ", most under-represented " << j["class_balance"]["most_under"]["name"].get<std::string>()
      << "\n";
  if (j.contains("intra_fid_mean"))
    v << cv::format("  conditional: intra-class FID %.3f (mean), class accuracy %.3f\n",
                    j["intra_fid_mean"].get<double>(), j["class_acc"].get<double>());
  res.verdict = v.str();
  j["verdict"] = {{"copying", res.copying}, {"flags", flags}, {"text", res.verdict}};
  j["thresholds"] = {{"percentile", o.percentile}, {"copy_rate_flag", rate_limit},
                     {"ct_flag", o.ct_flag},       {"authenticity_margin", o.authenticity_margin},
                     {"ct_cells", o.ct_cells},     {"ct_min_fakes", o.ct_min_fakes},
                     {"kmeans_seed", o.seed}};

  // ---- files -----------------------------------------------------------------------------------
  if (!out_dir.empty()) {
    const fs::path d(out_dir);
    if (pixels) {
      closest_pairs_grid((d / "closest_pairs.png").string(), train, fake, nf, o.pairs);
      closest_pairs_grid((d / "closest_pairs_pixels.png").string(), train, fake, pf, o.pairs);
      res.files.push_back((d / "closest_pairs.png").string());
      res.files.push_back((d / "closest_pairs_pixels.png").string());
    }
    distance_histogram((d / "nn_distances.png").string(), nf.dist, nh.dist, cr.threshold);
    res.files.push_back((d / "nn_distances.png").string());
    // Per image: the nearest training image and its distance, for fakes and held-out images.
    std::ostringstream csv;
    csv << "set,index,train_index,feature_dist,authentic"
        << (pixels ? ",train_index_pixels,pixel_dist" : "") << "\n";
    auto rows = [&](const char* set, const NearestNeighbors& n, const torch::Tensor& auth,
                    const NearestNeighbors* p) {
      auto di = n.dist.accessor<double, 1>();
      auto ii = n.index.accessor<int64_t, 1>();
      auto ai = auth.accessor<bool, 1>();
      for (int64_t i = 0; i < n.dist.size(0); ++i) {
        csv << set << "," << i << "," << ii[i] << "," << cv::format("%.9g", di[i]) << ","
            << (ai[i] ? 1 : 0);
        if (p)
          csv << "," << p->index[i].item<int64_t>() << ","
              << cv::format("%.9g", p->dist[i].item<double>());
        csv << "\n";
      }
    };
    rows("fake", nf, auth_f, pixels ? &pf : nullptr);
    rows("heldout", nh, auth_h, pixels ? &ph : nullptr);
    write_file_atomic((d / "nearest.csv").string(), csv.str());
    res.files.push_back((d / "nearest.csv").string());
  }
  j["seconds"] = timing;
  j["files"] = res.files;
  return res;
}

}  // namespace gan
