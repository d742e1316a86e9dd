// `gan audit`'s computation: the copy report, authenticity and the data-copying test C_T in
// detector-feature space (and the copy report in pixel space), class balance and, for
// conditional models, intra-class FID, as one JSON document with PNG figures and a verdict.
// Callers (src/cli/cmd_audit.cpp) supply the three sets already extracted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace gan {

struct AuditSet {
  torch::Tensor features;  // [N, D] detector features (required)
  torch::Tensor pixels;  // uint8 [N, C, H, W] at the training resolution; undefined: no pixel space
  torch::Tensor classes;    // int64 [N]: dataset labels (real) or classifier predictions (fakes)
  torch::Tensor requested;  // int64 [N]: requested classes of a conditional generator's fakes
  std::string source;       // where the set came from, for the protocol
};

struct AuditOptions {
  double percentile = 1.0;           // copy threshold: this percentile of held-out NN distances
  int64_t ct_cells = 20;             // k-means cells of the training features for C_T
  int64_t ct_min_fakes = 20;         // cells with fewer fakes are left out of C_T (the paper's tau)
  uint64_t seed = 0;                 // k-means seeding
  int64_t pairs = 16;                // closest fake/train pairs shown in the grid
  double ct_flag = -3.0;             // C_T below this flags copying
  double copy_rate_factor = 3.0;     // copy rate above factor * percentile / 100 flags copying
  double authenticity_margin = 0.1;  // fake authenticity this far below held-out's flags
  int64_t num_classes = 0;           // class balance when > 0 and both sides have classes
  std::vector<std::string> class_names;
};

struct AuditResult {
  nlohmann::json json;
  bool copying = false;            // any copy flag raised
  std::string verdict;             // a few lines for the terminal
  std::vector<std::string> files;  // figures and tables written
};

// Checks the sets (same feature size, enough images for C_T), runs every statistic and, when
// `out_dir` is not empty, writes closest_pairs*.png, nn_distances.png, class_balance.png and
// nearest.csv there. Throws DataError naming the problem for bad input.
AuditResult run_audit(const AuditSet& train, const AuditSet& heldout, const AuditSet& fake,
                      const AuditOptions& options, const std::string& out_dir = "");

}  // namespace gan
