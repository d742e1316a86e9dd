#include "src/metrics/evaluate.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include "data/datasets.h"
#include "data/transforms.h"

#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/core/npy.h"
#include "src/metrics/detector.h"
#include "src/metrics/fid.h"
#include "src/metrics/inception_score.h"
#include "src/metrics/kid.h"
#include "src/metrics/prdc.h"

namespace fs = std::filesystem;

namespace gan {

nlohmann::json EvalProtocol::to_json() const {
  return {{"detector", detector},
          {"resize", resize},
          {"real_source", real_source},
          {"fake_source", fake_source},
          {"num_real", num_real},
          {"num_fake", num_fake},
          {"seed", seed},
          {"kid_subsets", kid_subsets},
          {"kid_subset_size", kid_subset_size},
          {"is_splits", is_splits},
          {"pr_k", pr_k},
          {"dc_k", dc_k}};
}

int64_t FeatureSet::count() const {
  if (features.defined()) return features.size(0);
  if (probs.defined()) return probs.size(0);
  return stats ? stats->count : 0;
}

const FeatureStats& FeatureSet::get_stats() {
  if (!stats) {
    if (!features.defined()) throw DataError("no features to compute statistics from");
    stats = compute_stats(features);
  }
  return *stats;
}

FeatureSet extract_features(Detector& det, const ImageSource& images, int64_t num,
                            const ExtractOptions& opt, const LabelSource& labels,
                            double* img_per_s) {
  if (num <= 0) throw DataError("no images to extract features from");
  std::vector<torch::Tensor> feats, probs, labs;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  for (int64_t start = 0; start < num; start += opt.batch) {
    if (opt.should_stop && opt.should_stop()) {
      throw Interrupted(det.name() + ": feature extraction stopped after " + std::to_string(start) +
                        " of " + std::to_string(num) + " images");
    }
    const int64_t count = std::min(opt.batch, num - start);
    torch::Tensor x = images(start, count);
    if (x.is_floating_point()) x = quantize_images(x);
    DetectorOutput out = det.run(x, opt.probs);
    feats.push_back(out.features.to(torch::kCPU, torch::kFloat32));
    if (opt.probs) probs.push_back(out.probs.to(torch::kCPU, torch::kFloat32));
    if (labels) labs.push_back(labels(start, count).to(torch::kCPU, torch::kInt64));
    const auto now = std::chrono::steady_clock::now();
    if (opt.log_progress && std::chrono::duration<double>(now - last_log).count() > 10) {
      const double s = std::chrono::duration<double>(now - t0).count();
      spdlog::info("{}: {}/{} images, {:.1f} img/s", det.name(), start + count, num,
                   (start + count) / s);
      last_log = now;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (img_per_s) *img_per_s = secs > 0 ? num / secs : 0;
  FeatureSet set;
  set.features = torch::cat(feats);
  if (opt.probs) set.probs = torch::cat(probs);
  if (labels) set.labels = torch::cat(labs);
  set.detector = det.name();
  return set;
}

namespace {

void require_features(const FeatureSet& s, const std::string& metric, const char* which) {
  if (!s.has_features())
    throw DataError(metric + " needs per-sample " + which +
                    " features; only mu/sigma statistics were given");
}

}  // namespace

Registry<MetricSpec>& metric_registry() {
  static Registry<MetricSpec> reg = [] {
    Registry<MetricSpec> r("metric");
    MetricSpec fid;
    fid.needs_features = false;
    fid.compute = [](FeatureSet& real, FeatureSet& fake, const EvalProtocol&,
                     std::map<std::string, double>& out) {
      // The feature route is exact for any rank; statistics alone use the eigenvalue route.
      out["fid"] = real.has_features() && fake.has_features()
                       ? fid_from_features(real.features, fake.features)
                       : fid_from_stats(real.get_stats(), fake.get_stats());
    };
    r.add("fid", fid);
    MetricSpec kid_spec;
    kid_spec.compute = [](FeatureSet& real, FeatureSet& fake, const EvalProtocol& p,
                          std::map<std::string, double>& out) {
      require_features(real, "kid", "real");
      KidResult k = kid(real.features, fake.features,
                        {p.kid_subsets, p.kid_subset_size, static_cast<uint64_t>(p.seed)});
      out["kid_mean"] = k.mean;
      out["kid_std"] = k.std;
      out["kid_subset_size"] = static_cast<double>(k.subset_size);
    };
    r.add("kid", kid_spec);
    MetricSpec is;
    is.needs_real = false;
    is.needs_features = false;
    is.needs_probs = true;
    is.compute = [](FeatureSet&, FeatureSet& fake, const EvalProtocol& p,
                    std::map<std::string, double>& out) {
      IsResult s = inception_score(fake.probs, p.is_splits);
      out["is_mean"] = s.mean;
      out["is_std"] = s.std;
    };
    r.add("is", is);
    MetricSpec pr;
    pr.compute = [](FeatureSet& real, FeatureSet& fake, const EvalProtocol& p,
                    std::map<std::string, double>& out) {
      require_features(real, "pr", "real");
      PrResult v = precision_recall(real.features, fake.features, p.pr_k);
      out["precision"] = v.precision;
      out["recall"] = v.recall;
    };
    r.add("pr", pr);
    MetricSpec dc;
    dc.compute = [](FeatureSet& real, FeatureSet& fake, const EvalProtocol& p,
                    std::map<std::string, double>& out) {
      require_features(real, "dc", "real");
      DcResult v = density_coverage(real.features, fake.features, p.dc_k);
      out["density"] = v.density;
      out["coverage"] = v.coverage;
    };
    r.add("dc", dc);
    MetricSpec prdc = pr;
    prdc.compute = [pr, dc](FeatureSet& real, FeatureSet& fake, const EvalProtocol& p,
                            std::map<std::string, double>& out) {
      pr.compute(real, fake, p, out);
      dc.compute(real, fake, p, out);
    };
    r.add("prdc", prdc);
    MetricSpec acc;
    acc.needs_real = false;
    acc.needs_features = false;
    acc.needs_probs = true;
    acc.needs_labels = true;
    acc.compute = [](FeatureSet&, FeatureSet& fake, const EvalProtocol& p,
                     std::map<std::string, double>& out) {
      if (!fake.labels.defined())
        throw DataError("class_acc needs the requested class of every sample (conditional model)");
      if (p.detector.rfind("classifier", 0) != 0)
        spdlog::warn("class_acc with detector '{}': its classes are not the dataset's", p.detector);
      out["class_acc"] = class_accuracy(fake.probs, fake.labels);
    };
    r.add("class_acc", acc);
    return r;
  }();
  return reg;
}

std::vector<std::string> check_metric_names(const std::vector<std::string>& names) {
  for (const auto& n : names) metric_registry().get(n);
  return names;
}

std::vector<std::string> parse_metric_names(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  if (out.empty()) throw ConfigError("no metrics given (known: " + metric_registry().known() + ")");
  return check_metric_names(out);
}

bool metrics_need_probs(const std::vector<std::string>& metrics) {
  for (const auto& m : metrics)
    if (metric_registry().get(m).needs_probs) return true;
  return false;
}

bool metrics_need_real_features(const std::vector<std::string>& metrics) {
  for (const auto& m : metrics) {
    const MetricSpec& s = metric_registry().get(m);
    if (s.needs_real) return true;
  }
  return false;
}

EvalResult compute_metrics(const std::vector<std::string>& metrics, FeatureSet& real,
                           FeatureSet& fake, const EvalProtocol& protocol) {
  if (!real.detector.empty() && !fake.detector.empty() && real.detector != fake.detector)
    throw DataError("real features come from '" + real.detector + "' but fake ones from '" +
                    fake.detector + "'; metrics need one detector");
  EvalResult r;
  r.protocol = protocol;
  for (const auto& name : metrics) {
    const MetricSpec& spec = metric_registry().get(name);
    if (spec.needs_probs && !fake.probs.defined())
      throw DataError(name + " needs detector class probabilities of the generated images");
    const auto t0 = std::chrono::steady_clock::now();
    std::map<std::string, double> values;
    spec.compute(real, fake, protocol, values);
    for (const auto& [key, v] : values) {
      // A NaN or Inf is never reported as a number (NaN statistics once printed "fid 0").
      if (!std::isfinite(v)) {
        throw DataError(name + ": '" + key + "' is not finite (" + std::to_string(v) +
                        "); the features or statistics hold NaN or Inf");
      }
      r.values[key] = v;
    }
    spdlog::debug("{} computed in {:.2f} s", name,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (r.values.count("kid_subset_size"))
    r.protocol.kid_subset_size = static_cast<int64_t>(r.values["kid_subset_size"]);
  r.values.erase("kid_subset_size");
  return r;
}

EvalResult evaluate_metrics(const std::vector<std::string>& metrics, Detector& det,
                            FeatureSet& real, const ImageSource& fake, int64_t num_fake,
                            EvalProtocol protocol, const LabelSource& fake_labels, int64_t batch) {
  ExtractOptions opt;
  opt.batch = batch;
  opt.probs = metrics_need_probs(metrics);
  double ips = 0;
  FeatureSet fake_set = extract_features(det, fake, num_fake, opt, fake_labels, &ips);
  EvalResult r = evaluate_fake_set(metrics, det, real, fake_set, std::move(protocol));
  r.fake_img_per_s = ips;
  return r;
}

EvalResult evaluate_fake_set(const std::vector<std::string>& metrics, const Detector& det,
                             FeatureSet& real, FeatureSet& fake, EvalProtocol protocol) {
  protocol.detector = det.name();
  protocol.resize = det.resize();
  protocol.num_fake = fake.count();
  if (protocol.num_real == 0) protocol.num_real = real.count();
  return compute_metrics(metrics, real, fake, protocol);
}

nlohmann::json EvalResult::to_json() const {
  nlohmann::json j;
  for (const auto& kv : values) j[kv.first] = kv.second;
  j["protocol"] = protocol.to_json();
  if (real_img_per_s > 0 || fake_img_per_s > 0)
    j["img_per_s"] = {{"real", real_img_per_s}, {"fake", fake_img_per_s}};
  return j;
}

std::string EvalResult::table() const {
  std::ostringstream os;
  os << std::left << std::setw(12) << "metric"
     << "value\n";
  for (const auto& kv : values)
    os << std::left << std::setw(12) << kv.first << std::setprecision(6) << kv.second << "\n";
  os << "protocol: detector " << protocol.detector << ", resize " << protocol.resize << ", real "
     << protocol.num_real << " (" << protocol.real_source << "), fake " << protocol.num_fake << " ("
     << protocol.fake_source << "), seed " << protocol.seed;
  if (values.count("kid_mean"))
    os << ", kid " << protocol.kid_subsets << "x" << protocol.kid_subset_size;
  if (values.count("is_mean")) os << ", is splits " << protocol.is_splits;
  if (values.count("precision")) os << ", pr k=" << protocol.pr_k;
  if (values.count("density")) os << ", dc k=" << protocol.dc_k;
  os << "\n";
  if (real_img_per_s > 0 || fake_img_per_s > 0)
    os << "throughput: real " << std::setprecision(3) << real_img_per_s << " img/s, fake "
       << fake_img_per_s << " img/s\n";
  return os.str();
}

// ---- cache ---------------------------------------------------------------------------------

StatsCache StatsCache::beside_run(const std::string& run_dir) {
  return StatsCache((std::filesystem::path(run_dir).parent_path() / ".cache" / "stats").string());
}

std::string StatsCache::key(const std::string& dataset, const std::string& detector, int64_t count,
                            const std::string& resize) {
  const std::string text =
      dataset + "|" + detector + "|" + std::to_string(count) + "|" + resize + "|v1";
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across platforms and runs
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::ostringstream os;
  os << std::hex << std::setw(16) << std::setfill('0') << h;
  return os.str();
}

std::string StatsCache::path(const std::string& key) const {
  return (fs::path(dir_) / key).string();
}

std::optional<FeatureSet> StatsCache::load(const std::string& key) const {
  const fs::path p = path(key);
  if (!fs::exists(p / "features.npy") || !fs::exists(p / "protocol.json")) return std::nullopt;
  try {
    FeatureSet s;
    s.features = load_npy((p / "features.npy").string()).to(torch::kFloat32);
    if (fs::exists(p / "probs.npy")) s.probs = load_npy((p / "probs.npy").string());
    if (fs::exists(p / "stats.npz")) s.stats = load_stats_npz((p / "stats.npz").string());
    auto j = nlohmann::json::parse(read_file((p / "protocol.json").string()));
    s.detector = j.value("detector", "");
    return s;
  } catch (const std::exception& e) {
    spdlog::warn("stats cache entry {} unreadable, recomputing: {}", p.string(), e.what());
    return std::nullopt;
  }
}

void StatsCache::store(const std::string& key, const FeatureSet& set,
                       const nlohmann::json& protocol) const {
  const fs::path p = path(key);
  fs::create_directories(p);
  save_npy((p / "features.npy").string(), set.features);
  if (set.probs.defined()) save_npy((p / "probs.npy").string(), set.probs);
  FeatureSet copy = set;
  save_stats_npz((p / "stats.npz").string(), copy.get_stats());
  write_file_atomic((p / "protocol.json").string(), protocol.dump(2) + "\n");
}

// ---- image sources ---------------------------------------------------------------------------

std::string describe_real_data(const DataConfig& c, int64_t count) {
  std::string path = c.path;
  std::error_code ec;
  auto canon = fs::weakly_canonical(c.path, ec);
  if (!ec) path = canon.string();
  std::ostringstream os;
  os << "type=" << c.dataset.type << " path=" << path << " split=" << c.split
     << " max_images=" << c.max_images << " resolution=" << c.resolution
     << " channels=" << c.channels << " resize_filter=" << c.resize_filter
     << " non_square=" << c.non_square << " pad=" << c.pad << " crop=center hflip=false"
     << " count=" << count;
  if (c.dataset.type == "synthetic_shapes") os << " synthetic_count=" << c.dataset.get_int("count");
  return os.str();
}

namespace {

torch::Tensor mat_to_chw(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  const int ch = c.channels();
  torch::Tensor t =
      torch::from_blob(c.data, {c.rows, c.cols, ch}, torch::kUInt8).permute({2, 0, 1}).clone();
  return t;
}

}  // namespace

ImageSource dataset_image_source(const DataConfig& cfg, int64_t num, int64_t* num_out,
                                 std::string* description) {
  std::shared_ptr<Dataset> ds = make_dataset(cfg);
  const int64_t n = num > 0 ? std::min<int64_t>(num, ds->size()) : static_cast<int64_t>(ds->size());
  if (num > static_cast<int64_t>(ds->size()))
    spdlog::warn("asked for {} real images, the dataset has {}", num, ds->size());
  if (num_out) *num_out = n;
  if (description) *description = ds->describe();
  // Deterministic: no flip, center crop, whatever the training config says.
  TransformOptions opt = transform_options(cfg);
  opt.hflip(false).crop("center");
  return [ds, opt](int64_t start, int64_t count) {
    std::vector<torch::Tensor> out;
    for (int64_t i = start; i < start + count; ++i)
      out.push_back(mat_to_chw(transform_image_u8(ds->get(static_cast<size_t>(i)).image, opt, 0)));
    return torch::stack(out);
  };
}

ImageSource folder_image_source(const std::string& dir, int64_t* num_out, int channels) {
  if (!fs::is_directory(dir)) throw DataError("'" + dir + "' is not a folder of images");
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".webp")
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw DataError("no images (png, jpg, bmp, webp) in '" + dir + "'");
  cv::Mat first = cv::imread(files[0], cv::IMREAD_UNCHANGED);
  if (first.empty()) throw DataError("cannot read image '" + files[0] + "'");
  if (channels == 0) channels = first.channels() == 1 ? 1 : 3;
  const cv::Size size = first.size();
  if (num_out) *num_out = static_cast<int64_t>(files.size());
  auto warned = std::make_shared<bool>(false);
  return [files, channels, size, warned](int64_t start, int64_t count) {
    std::vector<torch::Tensor> out;
    for (int64_t i = start; i < start + count; ++i) {
      const std::string& f = files.at(static_cast<size_t>(i));
      cv::Mat m = cv::imread(f, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
      if (m.empty()) throw DataError("cannot read image '" + f + "'");
      if (channels == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
      if (m.size() != size) {
        if (!*warned)
          spdlog::warn("'{}' is {}x{}, resized (area) to the first image's {}x{}", f, m.cols,
                       m.rows, size.width, size.height);
        *warned = true;
        cv::resize(m, m, size, 0, 0, cv::INTER_AREA);
      }
      out.push_back(mat_to_chw(m));
    }
    return torch::stack(out);
  };
}

RealData real_data(const Detector& det, const DataConfig& cfg, int64_t num) {
  RealData real;
  real.images = dataset_image_source(cfg, num, &real.count, &real.dataset);
  real.description = describe_real_data(cfg, real.count);
  real.cache_key = StatsCache::key(real.description, det.name(), real.count, det.resize());
  return real;
}

std::optional<FeatureSet> load_real_features(const StatsCache& cache, const RealData& real,
                                             bool want_probs) {
  auto hit = cache.load(real.cache_key);
  if (!hit || (want_probs && !hit->probs.defined())) return std::nullopt;
  spdlog::info("real statistics from cache {}", cache.path(real.cache_key));
  return hit;
}

void store_real_features(const StatsCache& cache, const RealData& real, const Detector& det,
                         const FeatureSet& set) {
  nlohmann::json protocol = {{"dataset", real.description},
                             {"dataset_describe", real.dataset},
                             {"detector", det.name()},
                             {"count", real.count},
                             {"resize", det.resize()},
                             {"key", real.cache_key},
                             {"feature_dim", set.features.size(1)}};
  cache.store(real.cache_key, set, protocol);
}

FeatureSet real_features(Detector& det, const DataConfig& cfg, int64_t num, bool want_probs,
                         const StatsCache* cache, int64_t batch, double* img_per_s) {
  if (img_per_s) *img_per_s = 0;
  const RealData real = real_data(det, cfg, num);
  if (cache) {
    if (auto hit = load_real_features(*cache, real, want_probs)) return *hit;
  }
  ExtractOptions opt;
  opt.batch = batch;
  opt.probs = want_probs;
  double ips = 0;
  FeatureSet set = extract_features(det, real.images, real.count, opt, nullptr, &ips);
  if (img_per_s) *img_per_s = ips;
  spdlog::info("real features: {} images with {} at {:.1f} img/s", real.count, det.name(), ips);
  if (cache) store_real_features(*cache, real, det, set);
  return set;
}

}  // namespace gan
