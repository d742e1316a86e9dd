#include "src/metrics/stats_cache.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "src/core/files.h"
#include "src/core/npy.h"
#include "src/metrics/detector.h"
#include "src/metrics/image_sources.h"

namespace fs = std::filesystem;

namespace gan {

StatsCache StatsCache::beside_run(const std::string& run_dir) {
  return StatsCache((fs::path(run_dir).parent_path() / ".cache" / "stats").string());
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
