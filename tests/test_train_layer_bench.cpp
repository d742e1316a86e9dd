// The per-layer benchmark's recorder and timer (src/train/layer_bench.h): it sees every
// convolution a forward pass calls, with the arguments it was called with, and its FLOP count is
// the closed form.
#include <torch/torch.h>

#include <cmath>

#include "models/layers.h"
#include "src/train/layer_bench.h"

#include <catch2/catch.hpp>  // last: torch's glog CHECK must not replace Catch's

TEST_CASE("record_convolutions sees each call's shapes and settings, merging repeats",
          "[train][bench]") {
  const torch::Tensor x = torch::randn({2, 3, 8, 8});
  const torch::Tensor w = torch::randn({4, 3, 3, 3});
  const torch::Tensor wt = torch::randn({4, 3, 4, 4});  // transposed: [in, out / groups, k, k]
  const torch::Tensor dw = torch::randn({4, 1, 3, 3});  // depthwise
  const std::vector<gan::ConvCall> calls = gan::record_convolutions(
      [&] {
        torch::Tensor y = torch::conv2d(x, w, {}, 1, 1);
        y = torch::conv2d(x, w, {}, 1, 1);  // the same call again
        torch::conv2d(y, dw, torch::Tensor(), torch::IntArrayRef({2, 2}),
                      torch::IntArrayRef({0, 0}), torch::IntArrayRef({1, 1}), 4);
        torch::conv_transpose2d(y, wt, {}, 2, 1);
      },
      "G");
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].count == 2);
  CHECK(calls[0].where == "G");
  CHECK(calls[0].input == std::vector<int64_t>{2, 3, 8, 8});
  CHECK(calls[0].weight == std::vector<int64_t>{4, 3, 3, 3});
  CHECK(calls[0].padding == std::vector<int64_t>{1, 1});
  CHECK(!calls[0].transposed);
  CHECK(calls[1].groups == 4);
  CHECK(calls[1].stride == std::vector<int64_t>{2, 2});
  CHECK(calls[2].transposed);
  CHECK(calls[2].count == 1);
  // Nothing is recorded once the pass is over.
  torch::conv2d(x, w);
  CHECK(gan::record_convolutions([] {}, "D").empty());

  // FLOPs, by hand: output elements x (in / groups) x kernel area x 2.
  CHECK(calls[0].flops() == 2.0 * (2 * 4 * 8 * 8) * 3 * 9);
  CHECK(calls[1].flops() == 2.0 * (2 * 4 * 3 * 3) * 1 * 9);  // (8 - 3) / 2 + 1 = 3
  // Transposed: every input element scatters through out x kernel area.
  CHECK(calls[2].flops() == 2.0 * (2 * 4 * 8 * 8) * 3 * 16);
  CHECK_THAT(calls[2].describe(), Catch::Contains("T*"));
}

TEST_CASE("record_convolutions sees transposed_conv2d's input-gradient route as transposed",
          "[train][bench]") {
  const torch::Tensor x = torch::randn({2, 4, 5, 5});
  const torch::Tensor wt = torch::randn({4, 3, 3, 3});
  const std::vector<gan::ConvCall> calls = gan::record_convolutions(
      [&] {
        gan::transposed_conv2d(x, wt, {}, {2, 2}, {0, 0});
        torch::conv_transpose2d(x, wt, {}, 2, 0);  // the same convolution, LibTorch's route
      },
      "G");
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].transposed);
  CHECK(calls[0].input_grad);
  CHECK(calls[0].input == std::vector<int64_t>{2, 4, 5, 5});
  CHECK(calls[0].weight == std::vector<int64_t>{4, 3, 3, 3});
  CHECK(calls[0].stride == std::vector<int64_t>{2, 2});
  CHECK(calls[0].flops() == calls[1].flops());
  CHECK(calls[0].flops() == 2.0 * (2 * 4 * 5 * 5) * 3 * 9);
  CHECK_THAT(calls[0].describe(), Catch::Contains("Tg*"));
  CHECK(calls[1].transposed);
  CHECK(!calls[1].input_grad);
  // Timed through the route it was recorded from.
  CHECK(gan::time_conv_call(calls[0], torch::kFloat32, false, 0, 1) > 0);
}

TEST_CASE("time_conv_call times forward and backward in both memory formats", "[train][bench]") {
  const std::vector<gan::ConvCall> calls = gan::record_convolutions(
      [] {
        torch::conv2d(torch::randn({4, 8, 8, 8}), torch::randn({8, 8, 3, 3}), {}, 1, 1);
      },
      "D");
  REQUIRE(calls.size() == 1);
  for (const bool channels_last : {false, true}) {
    const double ms = gan::time_conv_call(calls[0], torch::kFloat32, channels_last, 1, 2);
    CHECK(std::isfinite(ms));
    CHECK(ms > 0);
  }
}
