// Per-layer timing behind `gan bench --cases layers`: the convolutions a network calls,
// recorded from one forward pass, each timed alone (forward + backward) in fp32 and bf16, NCHW
// and channels-last, to find where a memory format or precision pays (issue 13, item 4).
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gan {

// One aten::convolution call: its argument shapes and settings.
struct ConvCall {
  std::string where;  // a label of the caller's choice ("G", "D")
  std::vector<int64_t> input, weight, stride, padding, dilation, output_padding;
  bool transposed = false;
  // A transposed convolution run by transposed_conv2d as a convolution's input gradient
  // (aten::convolution_backward), as the models' fast paths run it on CPU.
  bool input_grad = false;
  int64_t groups = 1;
  bool bias = false;
  int count = 1;  // identical calls in the recorded pass
  // Forward multiply-adds x 2, from the shapes.
  double flops() const;
  // "[32,256,34,34] * [256,256,3,3] s1 p0 g1"; "T*" for transposed, "Tg*" run as an input
  // gradient.
  std::string describe() const;
};

// The convolutions `forward` calls (directly or through conv2d, conv_transpose2d,
// transposed_conv2d, ...) on this thread, identical calls merged, in the order of their first
// call, labelled `where`. `forward` must not run a backward pass: the input gradient of a
// convolution would read as a transposed convolution.
std::vector<ConvCall> record_convolutions(const std::function<void()>& forward,
                                          const std::string& where);

// Median milliseconds of forward + backward (input and weight gradients) of `call` alone, on
// random inputs in `dtype` (float or bfloat16) and NCHW or channels-last, after `warmup` runs.
double time_conv_call(const ConvCall& call, c10::ScalarType dtype, bool channels_last, int warmup,
                      int iters);

}  // namespace gan
