#include "src/metrics/inception_onednn.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "src/metrics/inception_native.h"

#ifdef GAN_HAVE_ONEDNN
#include <dnnl.hpp>
#endif

namespace gan {

#ifndef GAN_HAVE_ONEDNN

bool onednn_available() {
  return false;
}

struct InceptionOnednn::Impl {};

InceptionOnednn::InceptionOnednn(const FidInceptionImpl&, InceptionOnednnOptions) {
  throw std::runtime_error("this build has no oneDNN (install libdnnl-dev and rebuild)");
}
InceptionOnednn::~InceptionOnednn() = default;
torch::Tensor InceptionOnednn::forward(const torch::Tensor&) {
  return {};
}
std::string InceptionOnednn::implementations() const {
  return "";
}

#else

bool onednn_available() {
  return true;
}

namespace {

using tag = dnnl::memory::format_tag;

// Channel blocking of the activations: 16 channels (one zmm register) where oneDNN runs its
// AVX-512 kernels, 8 (one ymm) on AVX2. Each JIT kernel only takes its own ISA's blocking; the
// other sends every convolution and pooling to oneDNN's reference kernel, 100x slower.
tag activation_tag() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512) == avx512 ? tag::aBcd16b : tag::aBcd8b;
}
using dt = dnnl::memory::data_type;
using dnnl::algorithm;

constexpr int kInputBuffer = 0;   // the caller's preprocessed images
constexpr int kOutputBuffer = 1;  // the caller's [N, 2048] result
constexpr int64_t kSize = 299;

// An activation of the plan: a logical buffer and its layout (blocked by activation_tag()
// unless external).
struct Value {
  int buffer = -1;
  dnnl::memory::desc md;
  int64_t c() const { return md.dims()[1]; }
  int64_t h() const { return md.dims()[2]; }
  int64_t w() const { return md.dims()[3]; }
};

struct Step {
  dnnl::primitive prim;
  std::string kind, impl;
  std::vector<std::pair<int, Value> > buffer_args;  // DNNL_ARG_* -> activation
  std::unordered_map<int, dnnl::memory> args;       // complete after binding
};

// One plan per batch size: primitives created, weights reordered, activation memory bound.
struct Plan {
  std::vector<Step> steps;
  std::vector<torch::Tensor> storage;  // physical activation buffers, reused by liveness
  std::vector<dnnl::memory> input_mems, output_mems;
};

class Builder {
 public:
  Builder(const dnnl::engine& eng, dnnl::stream& stream, int64_t n, bool winograd)
      : eng_(eng), stream_(stream), n_(n), winograd_(winograd) {
    bytes_ = {0, 0};  // the external buffers
  }

  Value input() {
    Value v;
    v.buffer = kInputBuffer;
    v.md = dnnl::memory::desc({n_, 3, kSize, kSize}, dt::f32, tag::nchw);
    return v;
  }

  // BN-folded convolution + bias + ReLU in one primitive.
  Value conv(const Value& x, const BasicConv2dImpl& m) {
    const BasicConv2dOptions& o = m.options();
    const torch::Tensor w = m.fused_weight().to(torch::kCPU).contiguous();
    const torch::Tensor b = m.fused_bias().to(torch::kCPU).contiguous();
    TORCH_CHECK(w.defined() && w.size(1) == x.c(), "InceptionOnednn needs a fused model");
    const int64_t oc = w.size(0), kh = w.size(2), kw = w.size(3);
    const int64_t sh = (*o.stride())[0], sw = (*o.stride())[1];
    const int64_t ph = (*o.padding())[0], pw = (*o.padding())[1];
    Value y = activation(oc, (x.h() + 2 * ph - kh) / sh + 1, (x.w() + 2 * pw - kw) / sw + 1);
    const dnnl::memory::desc wmd({oc, x.c(), kh, kw}, dt::f32, tag::any);
    const dnnl::memory::desc bmd({oc}, dt::f32, tag::a);
    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
    auto make = [&](algorithm alg) {
      return dnnl::convolution_forward::primitive_desc(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, x.md, wmd, bmd,
                                          y.md, {sh, sw}, {ph, pw}, {ph, pw}),
          attr, eng_);
    };
    dnnl::convolution_forward::primitive_desc pd;
    bool made = false;
    if (winograd_ && kh == 3 && kw == 3 && sh == 1 && sw == 1) {
      try {
        pd = make(algorithm::convolution_winograd);
        made = true;
      } catch (const dnnl::error&) {
        // Not every ISA has Winograd; the direct kernel is the fall back.
      }
    }
    if (!made) pd = make(algorithm::convolution_direct);

    // Weights and bias into the kernel's layout, once.
    dnnl::memory user_w({{oc, x.c(), kh, kw}, dt::f32, tag::oihw}, eng_, w.data_ptr<float>());
    dnnl::memory weights(pd.weights_desc(), eng_);
    dnnl::reorder(user_w, weights).execute(stream_, user_w, weights);
    dnnl::memory bias(bmd, eng_);
    std::memcpy(bias.get_data_handle(), b.data_ptr<float>(), size_t(oc) * sizeof(float));
    stream_.wait();

    Step s;
    s.prim = dnnl::convolution_forward(pd);
    s.kind = "conv";
    s.impl = pd.impl_info_str();
    s.args[DNNL_ARG_WEIGHTS] = weights;
    s.args[DNNL_ARG_BIAS] = bias;
    s.buffer_args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
    steps_.push_back(std::move(s));
    return y;
  }

  Value pool(const Value& x, algorithm alg, int64_t k, int64_t stride, int64_t pad) {
    Value y =
        activation(x.c(), (x.h() + 2 * pad - k) / stride + 1, (x.w() + 2 * pad - k) / stride + 1);
    return pool_into(x, y, alg, k, stride, pad);
  }

  Value concat(const std::vector<Value>& xs) {
    std::vector<dnnl::memory::desc> mds;
    int64_t c = 0;
    for (const Value& x : xs) {
      mds.push_back(x.md);
      c += x.c();
    }
    Value y = activation(c, xs[0].h(), xs[0].w());
    dnnl::concat::primitive_desc pd(y.md, 1, mds, eng_);
    Step s;
    s.prim = dnnl::concat(pd);
    s.kind = "concat";
    s.impl = pd.impl_info_str();
    for (size_t i = 0; i < xs.size(); ++i)
      s.buffer_args.push_back({DNNL_ARG_MULTIPLE_SRC + int(i), xs[i]});
    s.buffer_args.push_back({DNNL_ARG_DST, y});
    steps_.push_back(std::move(s));
    return y;
  }

  // The final adaptive average pool to 1x1, written straight into the caller's [N, 2048].
  void global_average_to_output(const Value& x) {
    Value y;
    y.buffer = kOutputBuffer;
    // With 1x1 maps and 2048 channels (a multiple of the block), nChw16c and nChw8c are byte for
    // byte the caller's row-major [N, 2048], and keeping the source's layout lets the jit
    // pooling kernel run.
    y.md = dnnl::memory::desc({n_, x.c(), 1, 1}, dt::f32, activation_tag());
    TORCH_CHECK(x.h() == x.w(), "global pool expects a square map");
    pool_into(x, y, algorithm::pooling_avg_exclude_padding, x.h(), 1, 0);
  }

  // Liveness-based buffer sharing: a buffer is free after the last step that reads it, and a
  // step's output takes the smallest free buffer that fits (or a new one).
  void bind(Plan& plan) {
    std::vector<size_t> last_read(bytes_.size(), 0);
    for (size_t i = 0; i < steps_.size(); ++i)
      for (const auto& [arg, v] : steps_[i].buffer_args)
        if (arg != DNNL_ARG_DST) last_read[size_t(v.buffer)] = i;
    std::vector<int> physical(bytes_.size(), -1);
    std::vector<size_t> capacity;
    std::vector<int> free_list;
    for (size_t i = 0; i < steps_.size(); ++i) {
      Step& s = steps_[i];
      for (const auto& [arg, v] : s.buffer_args) {
        if (arg != DNNL_ARG_DST || v.buffer <= kOutputBuffer) continue;
        const size_t need = bytes_[size_t(v.buffer)];
        int best = -1;
        for (size_t f = 0; f < free_list.size(); ++f) {
          const size_t cap = capacity[size_t(free_list[f])];
          if (cap >= need && (best < 0 || cap < capacity[size_t(free_list[size_t(best)])]))
            best = int(f);
        }
        if (best >= 0) {
          physical[size_t(v.buffer)] = free_list[size_t(best)];
          free_list.erase(free_list.begin() + best);
        } else {
          physical[size_t(v.buffer)] = int(capacity.size());
          capacity.push_back(need);
        }
      }
      for (const auto& [arg, v] : s.buffer_args)
        if (arg != DNNL_ARG_DST && v.buffer > kOutputBuffer && last_read[size_t(v.buffer)] == i)
          free_list.push_back(physical[size_t(v.buffer)]);
    }
    for (size_t cap : capacity)
      plan.storage.push_back(torch::empty({int64_t(cap / sizeof(float)) + 16}, torch::kFloat32));
    for (Step& s : steps_) {
      for (const auto& [arg, v] : s.buffer_args) {
        if (v.buffer <= kOutputBuffer) {
          dnnl::memory m(v.md, eng_, DNNL_MEMORY_NONE);
          (v.buffer == kInputBuffer ? plan.input_mems : plan.output_mems).push_back(m);
          s.args[arg] = m;
        } else {
          s.args[arg] = dnnl::memory(
              v.md, eng_, plan.storage[size_t(physical[size_t(v.buffer)])].data_ptr<float>());
        }
      }
      s.buffer_args.clear();
      plan.steps.push_back(std::move(s));
    }
    steps_.clear();
  }

 private:
  Value activation(int64_t c, int64_t h, int64_t w) {
    Value v;
    // nChw16c or nChw8c: every channel count of the network past the input is a multiple of 16.
    v.md = dnnl::memory::desc({n_, c, h, w}, dt::f32, activation_tag());
    v.buffer = int(bytes_.size());
    bytes_.push_back(v.md.get_size());
    return v;
  }

  Value pool_into(const Value& x, const Value& y, algorithm alg, int64_t k, int64_t stride,
                  int64_t pad) {
    dnnl::pooling_forward::primitive_desc pd(
        dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, alg, x.md, y.md,
                                    {stride, stride}, {k, k}, {pad, pad}, {pad, pad}),
        eng_);
    Step s;
    s.prim = dnnl::pooling_forward(pd);
    s.kind = "pool";
    s.impl = pd.impl_info_str();
    s.buffer_args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
    steps_.push_back(std::move(s));
    return y;
  }

  const dnnl::engine& eng_;
  dnnl::stream& stream_;
  int64_t n_;
  bool winograd_;
  std::vector<size_t> bytes_;
  std::vector<Step> steps_;
};

// pytorch-fid's average pool: 3x3, stride 1, padding 1, padded cells not counted.
Value avg3(Builder& b, const Value& x) {
  return b.pool(x, algorithm::pooling_avg_exclude_padding, 3, 1, 1);
}
Value max3s2(Builder& b, const Value& x) {
  return b.pool(x, algorithm::pooling_max, 3, 2, 0);
}

Value block_a(Builder& b, const InceptionAImpl& m, const Value& x) {
  return b.concat(
      {b.conv(x, *m.branch1x1), b.conv(b.conv(x, *m.branch5x5_1), *m.branch5x5_2),
       b.conv(b.conv(b.conv(x, *m.branch3x3dbl_1), *m.branch3x3dbl_2), *m.branch3x3dbl_3),
       b.conv(avg3(b, x), *m.branch_pool)});
}

Value block_b(Builder& b, const InceptionBImpl& m, const Value& x) {
  return b.concat(
      {b.conv(x, *m.branch3x3),
       b.conv(b.conv(b.conv(x, *m.branch3x3dbl_1), *m.branch3x3dbl_2), *m.branch3x3dbl_3),
       max3s2(b, x)});
}

Value block_c(Builder& b, const InceptionCImpl& m, const Value& x) {
  Value b7 = b.conv(b.conv(b.conv(x, *m.branch7x7_1), *m.branch7x7_2), *m.branch7x7_3);
  Value bd = b.conv(x, *m.branch7x7dbl_1);
  bd = b.conv(b.conv(bd, *m.branch7x7dbl_2), *m.branch7x7dbl_3);
  bd = b.conv(b.conv(bd, *m.branch7x7dbl_4), *m.branch7x7dbl_5);
  return b.concat({b.conv(x, *m.branch1x1), b7, bd, b.conv(avg3(b, x), *m.branch_pool)});
}

Value block_d(Builder& b, const InceptionDImpl& m, const Value& x) {
  Value b3 = b.conv(b.conv(x, *m.branch3x3_1), *m.branch3x3_2);
  Value b7 = b.conv(b.conv(x, *m.branch7x7x3_1), *m.branch7x7x3_2);
  b7 = b.conv(b.conv(b7, *m.branch7x7x3_3), *m.branch7x7x3_4);
  return b.concat({b3, b7, max3s2(b, x)});
}

Value block_e(Builder& b, const InceptionEImpl& m, const Value& x) {
  Value b3 = b.conv(x, *m.branch3x3_1);
  Value bd = b.conv(b.conv(x, *m.branch3x3dbl_1), *m.branch3x3dbl_2);
  Value p =
      m.pool() == InceptionPool::kMax ? b.pool(x, algorithm::pooling_max, 3, 1, 1) : avg3(b, x);
  // The torch forward's nested concatenations flattened: the channel order is the same.
  return b.concat({b.conv(x, *m.branch1x1), b.conv(b3, *m.branch3x3_2a),
                   b.conv(b3, *m.branch3x3_2b), b.conv(bd, *m.branch3x3dbl_3a),
                   b.conv(bd, *m.branch3x3dbl_3b), b.conv(p, *m.branch_pool)});
}

}  // namespace

struct InceptionOnednn::Impl {
  const FidInceptionImpl& model;
  InceptionOnednnOptions options;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{eng};
  std::map<int64_t, Plan> plans;
  int64_t last_n = 0;

  Impl(const FidInceptionImpl& m, InceptionOnednnOptions o) : model(m), options(o) {}

  Plan& plan_for(int64_t n) {
    auto it = plans.find(n);
    if (it != plans.end()) return it->second;
    // A run sees one batch size and a smaller last one; more sizes than that are unusual, so
    // keep the memory bounded rather than caching every size ever seen.
    if (plans.size() >= 3) plans.clear();
    Builder b(eng, stream, n, options.winograd);
    const FidInceptionImpl& m = model;
    Value x = b.input();
    x = b.conv(b.conv(b.conv(x, *m.Conv2d_1a_3x3), *m.Conv2d_2a_3x3), *m.Conv2d_2b_3x3);
    x = max3s2(b, x);
    x = b.conv(b.conv(x, *m.Conv2d_3b_1x1), *m.Conv2d_4a_3x3);
    x = max3s2(b, x);
    x = block_a(b, *m.Mixed_5b, x);
    x = block_a(b, *m.Mixed_5c, x);
    x = block_a(b, *m.Mixed_5d, x);
    x = block_b(b, *m.Mixed_6a, x);
    x = block_c(b, *m.Mixed_6b, x);
    x = block_c(b, *m.Mixed_6c, x);
    x = block_c(b, *m.Mixed_6d, x);
    x = block_c(b, *m.Mixed_6e, x);
    x = block_d(b, *m.Mixed_7a, x);
    x = block_e(b, *m.Mixed_7b, x);
    x = block_e(b, *m.Mixed_7c, x);
    TORCH_CHECK(x.c() == 2048 && x.h() == 8 && x.w() == 8, "unexpected Inception output shape");
    b.global_average_to_output(x);
    Plan& plan = plans[n];
    b.bind(plan);
    for (const Step& s : plan.steps)
      if (s.impl.rfind("ref", 0) == 0)
        spdlog::warn("inception oneDNN: {} runs on the slow reference kernel ({})", s.kind, s.impl);
    return plan;
  }
};

InceptionOnednn::InceptionOnednn(const FidInceptionImpl& model, InceptionOnednnOptions options)
    : impl_(std::make_unique<Impl>(model, options)) {}

InceptionOnednn::~InceptionOnednn() = default;

torch::Tensor InceptionOnednn::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == kSize && x.size(3) == kSize &&
                  x.scalar_type() == torch::kFloat32 && x.device().is_cpu() && x.is_contiguous(),
              "InceptionOnednn expects [N, 3, 299, 299] float32 contiguous on the CPU, got ",
              x.sizes());
  const int64_t n = x.size(0);
  const int64_t chunk = std::max<int64_t>(1, impl_->options.max_chunk);
  torch::Tensor out = torch::empty({n, 2048}, torch::kFloat32);
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t count = std::min(chunk, n - start);
    Plan& plan = impl_->plan_for(count);
    impl_->last_n = count;
    // Rows of contiguous NCHW / [N, 2048] tensors are contiguous: the chunk is a pointer offset.
    for (dnnl::memory& m : plan.input_mems) m.set_data_handle(x[start].data_ptr());
    for (dnnl::memory& m : plan.output_mems) m.set_data_handle(out[start].data_ptr());
    for (Step& s : plan.steps) s.prim.execute(impl_->stream, s.args);
    impl_->stream.wait();
  }
  return out;
}

std::string InceptionOnednn::implementations() const {
  auto it = impl_->plans.find(impl_->last_n);
  if (it == impl_->plans.end()) return "";
  std::map<std::string, std::map<std::string, int> > counts;
  for (const Step& s : it->second.steps) ++counts[s.kind][s.impl];
  std::string out;
  for (const auto& [kind, impls] : counts) {
    if (!out.empty()) out += "; ";
    out += kind + ":";
    for (const auto& [impl, k] : impls) out += " " + impl + " x" + std::to_string(k);
  }
  return out;
}

#endif

}  // namespace gan
