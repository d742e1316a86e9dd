#include "src/metrics/nearest_neighbors.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "src/core/errors.h"

namespace gan {
namespace {

constexpr int64_t kQueryBlock = 512;
constexpr int64_t kRefBlock = 16384;  // 512 x 16384 doubles = 64 MB per thread
// uint8 values centred to [-128, 127]: a product is at most 2^14 in magnitude, so every partial
// sum of up to 1024 of them is an integer of at most 2^24, which float32 holds exactly.
constexpr int64_t kExactF32Chunk = 1024;
constexpr double kInf = std::numeric_limits<double>::infinity();

// The points in the form the products use: float64, or centred float32 for uint8 pixels (shifting
// both sets by 128 leaves every distance unchanged).
struct Points {
  torch::Tensor x;     // [N, D] float64, or float32 holding integers in [-128, 127]
  torch::Tensor norm;  // [N] float64 squared norms
  bool exact_f32 = false;
};

Points prepare(const torch::Tensor& in, bool exact_f32) {
  Points p;
  p.exact_f32 = exact_f32;
  if (exact_f32) {
    p.x = (in.to(torch::kCPU, torch::kFloat32) - 128.0f).contiguous();
    p.norm = p.x.to(torch::kFloat64).pow(2).sum(1);
  } else {
    p.x = in.to(torch::kCPU, torch::kFloat64).contiguous();
    p.norm = p.x.pow(2).sum(1);
  }
  return p;
}

// a . b^T in float64 for row blocks of two Points sets.
torch::Tensor cross(const Points& pa, const torch::Tensor& a, const torch::Tensor& b) {
  if (!pa.exact_f32) return torch::mm(a, b.t());
  const int64_t d = a.size(1);
  torch::Tensor out;
  for (int64_t c = 0; c < d; c += kExactF32Chunk) {
    torch::Tensor part =
        torch::mm(a.slice(1, c, c + kExactF32Chunk), b.slice(1, c, c + kExactF32Chunk).t())
            .to(torch::kFloat64);
    out = out.defined() ? out.add_(part) : part;
  }
  return out;
}

// Squared distances of rows [s, e) of `q` to rows [rs, re) of `r`, less |q_row|^2 when
// `row_constant` is false (a per-row constant does not move the row's minimum).
torch::Tensor block_sq_dist(const Points& q, int64_t s, int64_t e, const Points& r, int64_t rs,
                            int64_t re, bool row_constant = true) {
  torch::Tensor d;
  if (q.exact_f32) {
    d = cross(q, q.x.slice(0, s, e), r.x.slice(0, rs, re)).mul_(-2);
    d.add_(r.norm.slice(0, rs, re).unsqueeze(0));
  } else {  // one fused pass: |r|^2 - 2 q.r
    d = torch::addmm(r.norm.slice(0, rs, re).unsqueeze(0), q.x.slice(0, s, e),
                     r.x.slice(0, rs, re).t(), /*beta=*/1, /*alpha=*/-2);
  }
  if (row_constant) d.add_(q.norm.slice(0, s, e).unsqueeze(1));
  return d;
}

// Exact distance of each query row to its chosen neighbour, free of the expansion's cancellation.
torch::Tensor exact_dist(const Points& q, const Points& r, const torch::Tensor& index) {
  torch::Tensor out = torch::empty({q.x.size(0)}, torch::kFloat64);
  for (int64_t s = 0; s < q.x.size(0); s += 4096) {
    const torch::Tensor a = q.x.slice(0, s, s + 4096).to(torch::kFloat64);
    const torch::Tensor b = r.x.index_select(0, index.slice(0, s, s + 4096)).to(torch::kFloat64);
    out.slice(0, s, s + 4096).copy_((a - b).pow(2).sum(1).sqrt());
  }
  return out;
}

// Lexicographic (distance, index) minimum: ties go to the lower index whatever the order in
// which blocks and threads were visited.
void merge(double* bd, int64_t* bi, const double* d, const int64_t* i, int64_t n) {
  for (int64_t k = 0; k < n; ++k)
    if (d[k] < bd[k] || (d[k] == bd[k] && i[k] < bi[k])) bd[k] = d[k], bi[k] = i[k];
}

}  // namespace

NearestNeighbors nearest_neighbors(const torch::Tensor& query_in, const torch::Tensor& ref_in,
                                   const torch::Tensor& exclude_in) {
  if (query_in.dim() != 2 || ref_in.dim() != 2 || query_in.size(1) != ref_in.size(1))
    throw DataError("nearest neighbours need [N, D] arrays with the same D (got " +
                    std::to_string(query_in.dim() == 2 ? query_in.size(1) : -1) + " and " +
                    std::to_string(ref_in.dim() == 2 ? ref_in.size(1) : -1) + ")");
  const int64_t nq = query_in.size(0), nr = ref_in.size(0);
  const bool excluding = exclude_in.defined();
  if (nr < (excluding ? 2 : 1))
    throw DataError("nearest neighbours need at least " + std::to_string(excluding ? 2 : 1) +
                    " reference points");
  if (excluding && exclude_in.numel() != nq)
    throw DataError("nearest neighbours: one excluded reference row per query row");
  torch::NoGradGuard no_grad;
  const bool exact_f32 =
      query_in.scalar_type() == torch::kUInt8 && ref_in.scalar_type() == torch::kUInt8;
  const Points r = prepare(ref_in, exact_f32);
  const Points q = prepare(query_in, exact_f32);
  const torch::Tensor exclude =
      excluding ? exclude_in.to(torch::kCPU, torch::kInt64).contiguous() : torch::Tensor();
  torch::Tensor best_i = torch::empty({nq}, torch::kInt64);
  const int64_t blocks = (nq + kQueryBlock - 1) / kQueryBlock;
  // One query block per task; the products inside run on one thread each (LibTorch runs ops
  // serially inside parallel_for), so the two levels never oversubscribe the cores.
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t s = b * kQueryBlock, e = std::min(nq, s + kQueryBlock);
      std::vector<double> bd(e - s, kInf);
      std::vector<int64_t> bi(e - s, -1);
      for (int64_t rs = 0; rs < nr; rs += kRefBlock) {
        const int64_t re = std::min(nr, rs + kRefBlock);
        torch::Tensor d = block_sq_dist(q, s, e, r, rs, re, false);
        if (excluding) {
          const int64_t* ex = exclude.data_ptr<int64_t>();
          auto acc = d.accessor<double, 2>();
          for (int64_t i = s; i < e; ++i)
            if (ex[i] >= rs && ex[i] < re) acc[i - s][ex[i] - rs] = kInf;
        }
        auto [v, idx] = d.min(1);
        idx.add_(rs);
        merge(bd.data(), bi.data(), v.data_ptr<double>(), idx.data_ptr<int64_t>(), e - s);
      }
      std::copy(bi.begin(), bi.end(), best_i.data_ptr<int64_t>() + s);
    }
  });
  return {exact_dist(q, r, best_i), best_i};
}

NearestNeighbors nearest_neighbors(const torch::Tensor& query, const torch::Tensor& ref,
                                   bool exclude_self) {
  if (!exclude_self) return nearest_neighbors(query, ref, torch::Tensor());
  if (query.size(0) != ref.size(0))
    throw DataError("exclude_self needs query and reference to match");
  return nearest_neighbors(query, ref, torch::arange(query.size(0), torch::kInt64));
}

NearestNeighbors nearest_within(const torch::Tensor& x, const torch::Tensor& rows) {
  return nearest_neighbors(x.index_select(0, rows.to(torch::kInt64)), x, rows);
}

}  // namespace gan
