#include "data/loader.h"

#include <chrono>
#include <cstdlib>
#include <random>

#include <spdlog/spdlog.h>
#include <opencv2/core.hpp>

#include "src/core/errors.h"

namespace gan {

LoaderOptions loader_options(const Config& cfg, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw ConfigError("loader: rank " + std::to_string(rank) + " outside world size " +
                      std::to_string(world_size));
  }
  int batch = cfg.train.batch_size;
  if (batch % world_size != 0) {
    throw ConfigError(cfg.where("train.batch_size") + "train.batch_size " + std::to_string(batch) +
                      " is not divisible by the world size " + std::to_string(world_size));
  }
  LoaderOptions opt;
  opt.batch_size(batch / world_size)
      .workers(cfg.data.workers)
      .prefetch(cfg.data.prefetch)
      .shuffle(cfg.data.shuffle)
      .drop_last(cfg.data.drop_last)
      .cache(cfg.data.cache)
      .on_error(cfg.data.on_error)
      .seed(uint64_t(cfg.runtime.seed))
      .rank(rank)
      .world_size(world_size);
  return opt;
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> perm(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = i;
  if (!shuffle) return perm;
  std::mt19937_64 rng(mix_seed(seed, uint64_t(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = int64_t(random_below(rng, uint64_t(i + 1)));
    std::swap(perm[size_t(i)], perm[size_t(j)]);
  }
  return perm;
}

std::vector<int64_t> shard_of(const std::vector<int64_t>& perm, int rank, int world_size,
                              bool drop_last) {
  size_t n = perm.size();
  if (drop_last) n -= n % size_t(world_size);
  std::vector<int64_t> out;
  out.reserve(n / size_t(world_size) + 1);
  for (size_t i = size_t(rank); i < n; i += size_t(world_size)) out.push_back(perm[i]);
  return out;
}

int64_t batches_for(int64_t shard_size, int batch_size, bool drop_last) {
  return drop_last ? shard_size / batch_size : (shard_size + batch_size - 1) / batch_size;
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t dataset_index) {
  return mix_seed(mix_seed(seed ^ 0x5eed5eedULL, uint64_t(epoch)), uint64_t(dataset_index));
}

Loader::Loader(std::shared_ptr<Dataset> dataset, TransformOptions transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(std::move(options)) {
  if (!dataset_) throw std::invalid_argument("Loader: null dataset");
  check_transform_options(transform_);
  const auto& o = options_;
  if (o.batch_size() < 1)
    throw ConfigError("train.batch_size must be >= 1 per rank, got " +
                      std::to_string(o.batch_size()));
  if (o.workers() < 0)
    throw ConfigError("data.workers must be >= 0, got " + std::to_string(o.workers()));
  if (o.prefetch() < 1)
    throw ConfigError("data.prefetch must be >= 1, got " + std::to_string(o.prefetch()));
  if (o.on_error() != "fail" && o.on_error() != "skip") {
    throw ConfigError("data.on_error: unknown value '" + o.on_error() + "' (known: fail, skip)");
  }
  if (o.world_size() < 1 || o.rank() < 0 || o.rank() >= o.world_size()) {
    throw ConfigError("loader: rank " + std::to_string(o.rank()) + " outside world size " +
                      std::to_string(o.world_size()));
  }
  const int64_t n = int64_t(dataset_->size());
  if (n == 0) throw DataError("dataset is empty: " + dataset_->describe());
  const int64_t w = o.world_size(), r = o.rank();
  shard_size_ = o.drop_last() ? n / w : (r < n ? (n - r + w - 1) / w : 0);
  batches_per_epoch_ = batches_for(shard_size_, o.batch_size(), o.drop_last());
  if (batches_per_epoch_ == 0) {
    throw DataError("dataset too small: " + std::to_string(shard_size_) + " samples for rank " +
                    std::to_string(r) + " of " + std::to_string(w) + ", fewer than one batch of " +
                    std::to_string(o.batch_size()) +
                    (o.drop_last() ? " (data.drop_last is on)" : "") + ": " + dataset_->describe());
  }
  if (o.cache()) {
    cache_.resize(size_t(n));
    cache_labels_.resize(size_t(n));
    cached_.assign(size_t(n), 0);
  }
  // Create spdlog's registry here, not lazily from a worker's first warning.
  (void)spdlog::default_logger_raw();
  for (int i = 0; i < o.workers(); ++i) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t Loader::batches_per_epoch() const {
  return batches_per_epoch_;
}

int64_t Loader::skipped() const {
  std::lock_guard<std::mutex> lk(bad_mutex_);
  return int64_t(bad_.size());
}

double Loader::wait_seconds() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return wait_seconds_;
}

LoaderPosition Loader::position() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return {next_return_ / batches_per_epoch_, next_return_ % batches_per_epoch_};
}

void Loader::seek(LoaderPosition pos) {
  if (pos.epoch < 0 || pos.batch < 0 || pos.batch >= batches_per_epoch_) {
    throw DataError("loader position (epoch " + std::to_string(pos.epoch) + ", batch " +
                    std::to_string(pos.batch) + ") is outside this dataset's " +
                    std::to_string(batches_per_epoch_) +
                    " batches per epoch: " + dataset_->describe());
  }
  {
    std::lock_guard<std::mutex> lk(mutex_);
    ++generation_;
    done_.clear();
    next_assign_ = next_return_ = pos.epoch * batches_per_epoch_ + pos.batch;
  }
  cv_work_.notify_all();
}

Batch Loader::next() {
  const auto t0 = std::chrono::steady_clock::now();
  if (workers_.empty()) {
    int64_t seq;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      seq = next_return_;
    }
    Batch b = build(seq);
    std::lock_guard<std::mutex> lk(mutex_);
    ++next_return_;
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return b;
  }
  std::unique_lock<std::mutex> lk(mutex_);
  cv_done_.wait(lk, [&] { return done_.count(next_return_) > 0; });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto it = done_.find(next_return_);
  Done d = std::move(it->second);
  done_.erase(it);
  ++next_return_;
  lk.unlock();
  cv_work_.notify_all();
  if (d.error) std::rethrow_exception(d.error);
  return std::move(d.batch);
}

void Loader::worker_loop() {
  while (true) {
    int64_t seq;
    uint64_t gen;
    {
      std::unique_lock<std::mutex> lk(mutex_);
      cv_work_.wait(
          lk, [&] { return stop_ || next_assign_ < next_return_ + int64_t(options_.prefetch()); });
      if (stop_) return;
      seq = next_assign_++;
      gen = generation_;
    }
    Done d;
    try {
      d.batch = build(seq);
    } catch (...) {
      d.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mutex_);
      if (gen != generation_) continue;  // a seek() made this batch stale
      done_[seq] = std::move(d);
    }
    cv_done_.notify_all();
  }
}

std::shared_ptr<const Loader::EpochOrder> Loader::epoch_order(int64_t epoch) {
  std::lock_guard<std::mutex> lk(order_mutex_);
  auto it = orders_.find(epoch);
  if (it != orders_.end()) return it->second;
  auto order = std::make_shared<EpochOrder>();
  order->perm =
      epoch_permutation(int64_t(dataset_->size()), options_.seed(), epoch, options_.shuffle());
  order->shard =
      shard_of(order->perm, options_.rank(), options_.world_size(), options_.drop_last());
  orders_[epoch] = order;
  // Prefetch spans at most two epochs; drop the ones farthest from this one (after a backward
  // seek the newest entry can be the smallest key, so not simply the first).
  while (orders_.size() > 3) {
    auto far = orders_.begin();
    for (auto e = orders_.begin(); e != orders_.end(); ++e) {
      if (std::llabs(e->first - epoch) > std::llabs(far->first - epoch)) far = e;
    }
    orders_.erase(far);
  }
  return order;
}

Sample Loader::decode(int64_t index) {
  if (options_.cache()) {
    std::lock_guard<std::mutex> lk(cache_mutex_);
    if (cached_[size_t(index)]) return {cache_[size_t(index)], cache_labels_[size_t(index)]};
  }
  Sample s;
  try {
    s = dataset_->get(size_t(index));
  } catch (const cv::Exception& e) {
    throw DataError("cannot decode " + dataset_->source(size_t(index)) + ": " + e.what());
  }
  if (s.image.empty()) throw DataError("empty image from " + dataset_->source(size_t(index)));
  if (options_.cache()) {
    std::lock_guard<std::mutex> lk(cache_mutex_);
    cache_[size_t(index)] = s.image;
    cache_labels_[size_t(index)] = s.label;
    cached_[size_t(index)] = 1;
  }
  return s;
}

Sample Loader::load_sample(const std::vector<int64_t>& perm, int64_t perm_pos,
                           int64_t& used_index) {
  const int64_t n = int64_t(perm.size());
  for (int64_t k = 0; k < n; ++k) {
    const int64_t index = perm[size_t((perm_pos + k) % n)];
    if (options_.on_error() == "skip") {
      std::lock_guard<std::mutex> lk(bad_mutex_);
      if (bad_.count(index)) continue;
    }
    try {
      Sample s = decode(index);
      used_index = index;
      return s;
    } catch (const DataError& e) {
      if (options_.on_error() != "skip") throw;
      bool fresh;
      {
        std::lock_guard<std::mutex> lk(bad_mutex_);
        fresh = bad_.insert(index).second;
      }
      if (fresh) {
        const std::string src = dataset_->source(size_t(index));
        const std::string what = e.what();
        // Readers name the file already; add it only when the message lacks it.
        spdlog::warn("data.on_error=skip: skipping {}",
                     what.find(src) != std::string::npos ? what : src + ": " + what);
      }
    }
  }
  throw DataError("every sample failed to decode (data.on_error: skip): " + dataset_->describe());
}

Batch Loader::build(int64_t seq) {
  const int64_t epoch = seq / batches_per_epoch_;
  const int64_t b = seq % batches_per_epoch_;
  auto order = epoch_order(epoch);
  const int64_t bs = options_.batch_size();
  const int64_t start = b * bs;
  const int64_t count = std::min<int64_t>(bs, int64_t(order->shard.size()) - start);
  const int c = transform_.channels(), res = transform_.resolution();
  const size_t chw = size_t(c) * size_t(res) * size_t(res);
  Batch batch;
  batch.epoch = epoch;
  batch.index = b;
  batch.images = torch::empty({count, c, res, res}, torch::kFloat32);
  batch.labels = torch::empty({count}, torch::kInt64);
  float* img = batch.images.data_ptr<float>();
  int64_t* lab = batch.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    // Shard position j sits at permutation position rank + j * world (see shard_of).
    const int64_t perm_pos = options_.rank() + (start + i) * options_.world_size();
    int64_t index = -1;
    Sample s = load_sample(order->perm, perm_pos, index);
    cv::Mat out;
    try {
      out = transform_image_u8(s.image, transform_, sample_seed(options_.seed(), epoch, index));
    } catch (const DataError& e) {
      throw DataError(dataset_->source(size_t(index)) + ": " + e.what());
    }
    image_to_chw(out, img + size_t(i) * chw);
    lab[i] = s.label;
  }
  return batch;
}

}  // namespace gan
