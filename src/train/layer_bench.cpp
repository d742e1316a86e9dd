#include "src/train/layer_bench.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "models/layers.h"

namespace gan {

namespace {

// An int-list argument, one entry per spatial dimension (conv2d(x, w, {}, 1, 1) passes [1]).
std::vector<int64_t> int_list(const c10::IValue& v, size_t dims, int64_t fallback) {
  std::vector<int64_t> out = v.isIntList() ? v.toIntVector() : std::vector<int64_t>{};
  if (out.empty()) out.push_back(fallback);
  if (out.size() == 1) out.resize(dims, out[0]);
  return out;
}

bool same(const ConvCall& a, const ConvCall& b) {
  return a.input == b.input && a.weight == b.weight && a.stride == b.stride &&
         a.padding == b.padding && a.dilation == b.dilation &&
         a.output_padding == b.output_padding && a.transposed == b.transposed &&
         a.input_grad == b.input_grad && a.groups == b.groups && a.bias == b.bias;
}

torch::Tensor run(const ConvCall& c, const torch::Tensor& x, const torch::Tensor& w,
                  const torch::Tensor& b) {
  if (c.input_grad) return transposed_conv2d(x, w, b, c.stride, c.padding, c.groups);
  return at::convolution(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, c.stride,
                         c.padding, c.dilation, c.transposed, c.output_padding, c.groups);
}

}  // namespace

double ConvCall::flops() const {
  if (input.size() < 3 || weight.size() < 3) return 0;
  // Multiply-adds per output element of a convolution: in/groups x kernel area; a transposed
  // convolution scatters each input element through out/groups x kernel area.
  double kernel = 1;
  for (size_t i = 2; i < weight.size(); ++i) kernel *= double(weight[i]);
  if (transposed) {
    double in = 1;
    for (int64_t s : input) in *= double(s);
    return 2.0 * in * double(weight[1]) * kernel;
  }
  double out = 1;
  out *= double(input[0]) * double(weight[0]);
  for (size_t i = 2; i < input.size(); ++i) {
    const int64_t k = dilation[i - 2] * (weight[i] - 1) + 1;
    out *= double((input[i] + 2 * padding[i - 2] - k) / stride[i - 2] + 1);
  }
  return 2.0 * out * double(weight[1]) * kernel;
}

std::string ConvCall::describe() const {
  std::ostringstream s;
  auto list = [&s](const std::vector<int64_t>& v) {
    s << '[';
    for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
    s << ']';
  };
  list(input);
  s << (input_grad ? " Tg* " : transposed ? " T* " : " * ");
  list(weight);
  s << " s" << (stride.empty() ? 1 : stride[0]) << " p" << (padding.empty() ? 0 : padding[0]);
  if (groups != 1) s << " g" << groups;
  return s.str();
}

namespace {

// Where the callback (a plain function pointer: no captures) records, on this thread.
thread_local std::vector<ConvCall>* recording = nullptr;
thread_local const std::string* recording_where = nullptr;

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups), or transposed_conv2d's aten::convolution_backward(grad_output = its input, input,
// weight, bias_sizes, stride, padding, dilation, transposed, output_padding, groups, mask):
// argument `first` onwards are stride .. groups in both.
void read_call(c10::ArrayRef<const c10::IValue> in, size_t first, ConvCall& c) {
  const size_t dims = c.input.size() > 2 ? c.input.size() - 2 : 1;
  c.stride = int_list(in[first], dims, 1);
  c.padding = int_list(in[first + 1], dims, 0);
  c.dilation = int_list(in[first + 2], dims, 1);
  c.transposed = in[first + 3].isBool() && in[first + 3].toBool();
  c.output_padding = int_list(in[first + 4], dims, 0);
  c.groups = in[first + 5].isInt() ? in[first + 5].toInt() : 1;
}

std::unique_ptr<at::ObserverContext> on_op(const at::RecordFunction& fn) {
  if (!recording) return nullptr;
  const std::string name = fn.name();
  const auto in = fn.inputs();
  ConvCall c;
  c.where = *recording_where;
  if (name == "aten::convolution") {
    if (in.size() < 9 || !in[0].isTensor() || !in[1].isTensor()) return nullptr;
    c.input = in[0].toTensor().sizes().vec();
    c.weight = in[1].toTensor().sizes().vec();
    c.bias = in[2].isTensor() && in[2].toTensor().defined();
    read_call(in, 3, c);
  } else if (name == "aten::convolution_backward") {
    // In a forward pass only transposed_conv2d calls it: the input gradient alone, of a plain
    // convolution, is the transposed convolution of grad_output.
    if (in.size() < 11 || !in[0].isTensor() || !in[2].isTensor()) return nullptr;
    c.input = in[0].toTensor().sizes().vec();
    c.weight = in[2].toTensor().sizes().vec();
    read_call(in, 4, c);
    const std::vector<bool> mask =
        in[10].isBoolList() ? in[10].toBoolList().vec() : std::vector<bool>{};
    if (c.transposed || mask != std::vector<bool>{true, false, false}) return nullptr;
    c.transposed = true;
    c.input_grad = true;
  } else {
    return nullptr;
  }
  auto it = std::find_if(recording->begin(), recording->end(),
                         [&c](const ConvCall& o) { return same(o, c); });
  if (it != recording->end()) {
    ++it->count;
  } else {
    recording->push_back(c);
  }
  return nullptr;
}

}  // namespace

std::vector<ConvCall> record_convolutions(const std::function<void()>& forward,
                                          const std::string& where) {
  std::vector<ConvCall> calls;
  recording = &calls;
  recording_where = &where;
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_op).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  try {
    forward();
  } catch (...) {
    at::removeCallback(handle);
    recording = nullptr;
    throw;
  }
  at::removeCallback(handle);
  recording = nullptr;
  return calls;
}

double time_conv_call(const ConvCall& c, c10::ScalarType dtype, bool channels_last, int warmup,
                      int iters) {
  const auto format = channels_last && c.input.size() == 4 ? at::MemoryFormat::ChannelsLast
                                                           : at::MemoryFormat::Contiguous;
  const auto opts = torch::TensorOptions().dtype(dtype);
  const torch::Tensor x = torch::randn(c.input, opts).contiguous(format).set_requires_grad(true);
  const torch::Tensor w =
      (torch::randn(c.weight, opts) * 0.05)
          .contiguous(c.weight.size() == 4 ? format : at::MemoryFormat::Contiguous)
          .set_requires_grad(true);
  const torch::Tensor b =
      c.bias ? torch::zeros({c.transposed ? c.weight[1] * c.groups : c.weight[0]}, opts)
                   .set_requires_grad(true)
             : torch::Tensor();
  torch::Tensor grad;
  std::vector<double> ms;
  for (int i = 0; i < warmup + std::max(1, iters); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const torch::Tensor y = run(c, x, w, b);
    if (!grad.defined()) grad = torch::randn_like(y);
    y.backward(grad);
    const double t =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    x.mutable_grad().reset();
    w.mutable_grad().reset();
    if (b.defined()) b.mutable_grad().reset();
    if (i >= warmup) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace gan
