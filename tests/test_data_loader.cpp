#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include <torch/torch.h>

#include "data/datasets.h"
#include "data/loader.h"
#include "src/core/errors.h"
#include "test_data_util.h"

using namespace gan;

namespace {

std::vector<int64_t> labels_of(const Batch& b) {
  auto l = b.labels.contiguous();
  return std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
}

// Labels of the next `n` batches.
std::vector<std::vector<int64_t>> take(Loader& loader, int n) {
  std::vector<std::vector<int64_t>> out;
  for (int i = 0; i < n; ++i) out.push_back(labels_of(loader.next()));
  return out;
}

TransformOptions small() {
  return TransformOptions().resolution(2).channels(1);
}

}  // namespace

TEST_CASE("epoch permutation: seeded, a true permutation, differs per epoch", "[data][loader]") {
  auto p0 = epoch_permutation(100, 7, 0, true);
  auto p0b = epoch_permutation(100, 7, 0, true);
  auto p1 = epoch_permutation(100, 7, 1, true);
  auto q0 = epoch_permutation(100, 8, 0, true);
  REQUIRE(p0 == p0b);
  REQUIRE(p0 != p1);
  REQUIRE(p0 != q0);
  auto sorted = p0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) REQUIRE(sorted[size_t(i)] == i);
  auto id = epoch_permutation(5, 7, 3, false);
  REQUIRE(id == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("loader batches follow the seeded order, also with workers", "[data][loader]") {
  auto ds = std::make_shared<gan_test::IndexDataset>(10);
  auto opt = LoaderOptions().batch_size(4).seed(42).workers(0);
  Loader sync(ds, small(), opt);
  REQUIRE(sync.batches_per_epoch() == 2);  // drop_last: 10 / 4
  auto perm0 = epoch_permutation(10, 42, 0, true);
  auto perm1 = epoch_permutation(10, 42, 1, true);
  Batch b0 = sync.next();
  REQUIRE(b0.epoch == 0);
  REQUIRE(b0.index == 0);
  REQUIRE(b0.images.sizes() == torch::IntArrayRef({4, 1, 2, 2}));
  REQUIRE(labels_of(b0) == std::vector<int64_t>(perm0.begin(), perm0.begin() + 4));
  // Image content matches its label (value = index).
  REQUIRE(b0.images[2][0][1][1].item<float>() == Approx(float(perm0[2]) / 127.5f - 1.0f));
  Batch b1 = sync.next();
  REQUIRE(labels_of(b1) == std::vector<int64_t>(perm0.begin() + 4, perm0.begin() + 8));
  REQUIRE(sync.position().epoch == 1);
  REQUIRE(sync.position().batch == 0);
  Batch b2 = sync.next();
  REQUIRE(b2.epoch == 1);
  REQUIRE(labels_of(b2) == std::vector<int64_t>(perm1.begin(), perm1.begin() + 4));

  // Threads, prefetch and the cache change nothing.
  Loader sync2(ds, small(), opt);
  auto want = take(sync2, 9);
  for (int workers : {1, 3}) {
    Loader threaded(ds, small(),
                    LoaderOptions(opt).workers(workers).prefetch(2).cache(workers == 3));
    REQUIRE(take(threaded, 9) == want);
  }
}

TEST_CASE("drop_last and the last partial batch", "[data][loader]") {
  auto ds = std::make_shared<gan_test::IndexDataset>(10);
  Loader keep(ds, small(),
              LoaderOptions().batch_size(4).drop_last(false).shuffle(false).workers(0));
  REQUIRE(keep.batches_per_epoch() == 3);
  auto got = take(keep, 4);
  REQUIRE(got[2] == std::vector<int64_t>{8, 9});
  REQUIRE(got[3] == std::vector<int64_t>{0, 1, 2, 3});
  REQUIRE_THROWS_AS(Loader(ds, small(), LoaderOptions().batch_size(11)), DataError);
}

TEST_CASE("resuming at batch k gives exactly the uninterrupted batches", "[data][loader]") {
  DataConfig cfg;
  cfg.dataset.type = "synthetic_shapes";
  cfg.dataset.set("count", int64_t(37));
  cfg.resolution = 12;
  auto ds = make_dataset(cfg);
  // Random crop and flip make the images depend on (seed, epoch, index) too.
  TransformOptions t =
      TransformOptions().resolution(8).channels(3).pad(2).crop("random").hflip(true);
  auto opt = LoaderOptions().batch_size(5).seed(3).workers(2).prefetch(3);
  Loader full(ds, t, opt);
  REQUIRE(full.batches_per_epoch() == 7);
  std::vector<Batch> ref;
  for (int i = 0; i < 20; ++i) ref.push_back(full.next());

  for (int k : {0, 3, 7, 13}) {
    Loader resumed(ds, t, opt);
    resumed.next();  // has prefetched ahead before the seek
    resumed.seek({k / 7, k % 7});
    REQUIRE(resumed.position().epoch == k / 7);
    REQUIRE(resumed.position().batch == k % 7);
    for (int i = k; i < 20; ++i) {
      Batch b = resumed.next();
      REQUIRE(b.epoch == ref[size_t(i)].epoch);
      REQUIRE(b.index == ref[size_t(i)].index);
      REQUIRE(torch::equal(b.labels, ref[size_t(i)].labels));
      REQUIRE(torch::equal(b.images, ref[size_t(i)].images));
    }
  }
  // Seeking backwards (a rollback) replays the same batches too.
  full.seek({0, 2});
  for (int i = 2; i < 9; ++i) REQUIRE(torch::equal(full.next().images, ref[size_t(i)].images));
  // A different seed gives a different stream.
  Loader other(ds, t, LoaderOptions(opt).seed(4));
  REQUIRE_FALSE(torch::equal(other.next().images, ref[0].images));
  Loader bad(ds, t, opt);
  REQUIRE_THROWS_AS(bad.seek({0, 7}), DataError);
}

TEST_CASE("shards cover every sample exactly once across ranks", "[data][loader]") {
  auto ds = std::make_shared<gan_test::IndexDataset>(23);
  for (bool drop_last : {false, true}) {
    std::vector<int> seen(23, 0);
    std::vector<int64_t> counts;
    for (int rank = 0; rank < 3; ++rank) {
      Loader l(ds, small(),
               LoaderOptions()
                   .batch_size(2)
                   .seed(9)
                   .workers(1)
                   .drop_last(drop_last)
                   .rank(rank)
                   .world_size(3));
      counts.push_back(l.batches_per_epoch());
      for (int64_t b = 0; b < l.batches_per_epoch(); ++b)
        for (int64_t i : labels_of(l.next())) seen[size_t(i)]++;
      REQUIRE(l.position().epoch == 1);
    }
    if (drop_last) {
      // 23 -> 21 usable -> 7 per rank -> 3 full batches each; equal counts, no sample twice.
      REQUIRE(counts == std::vector<int64_t>{3, 3, 3});
      REQUIRE(*std::max_element(seen.begin(), seen.end()) == 1);
      REQUIRE(std::count(seen.begin(), seen.end(), 1) == 18);
    } else {
      REQUIRE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
    }
  }
}

TEST_CASE("on_error: skip replaces bad samples deterministically", "[data][loader]") {
  auto ds = std::make_shared<gan_test::IndexDataset>(12, std::vector<size_t>{2, 7});
  auto opt = LoaderOptions().batch_size(4).seed(1).workers(2).on_error("skip");
  Loader a(ds, small(), opt), b(ds, small(), opt);
  auto ga = take(a, 6), gb = take(b, 6);
  REQUIRE(ga == gb);
  for (const auto& batch : ga) {
    REQUIRE(batch.size() == 4);
    for (int64_t i : batch) REQUIRE((i != 2 && i != 7));
  }
  REQUIRE(a.skipped() == 2);
  Loader fail(ds, small(), LoaderOptions(opt).on_error("fail").shuffle(false).workers(0));
  REQUIRE_THROWS_WITH(fail.next(), Catch::Contains("index#2"));
  REQUIRE_THROWS_AS(Loader(ds, small(), LoaderOptions(opt).on_error("ignore")), ConfigError);
}

TEST_CASE("loader options from the config", "[data][loader]") {
  Config cfg;
  cfg.train.batch_size = 64;
  cfg.runtime.seed = 5;
  cfg.data.workers = 3;
  LoaderOptions o = loader_options(cfg, 1, 4);
  REQUIRE(o.batch_size() == 16);  // train.batch_size is global
  REQUIRE(o.rank() == 1);
  REQUIRE(o.world_size() == 4);
  REQUIRE(o.seed() == 5);
  REQUIRE(o.workers() == 3);
  REQUIRE_THROWS_AS(loader_options(cfg, 0, 3), ConfigError);
}
