// A small CNN classifier: the `classifier` detector for domains or machines without Inception
// weights (e.g. Fashion-MNIST). Features are the penultimate layer; probabilities its softmax.
// Trained by `gan train-classifier`; knows nothing of files or datasets (batches come from a
// callback).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <torch/torch.h>

namespace gan {

struct ClassifierOptions {
  ClassifierOptions(int64_t channels = 1, int64_t num_classes = 10)
      : channels_(channels), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, resolution) = 32;  // inputs are resized to this side
  TORCH_ARG(int64_t, width) = 16;       // channels of the first stage (x2, x4 later)
  TORCH_ARG(int64_t, feature_dim) = 128;
};

class ClassifierImpl : public torch::nn::Module {
 public:
  explicit ClassifierImpl(const ClassifierOptions& options = {});
  // x: [N, channels, resolution, resolution] in [-1, 1]. Returns logits [N, num_classes].
  torch::Tensor forward(const torch::Tensor& x);
  // Penultimate activations [N, feature_dim].
  torch::Tensor features(const torch::Tensor& x);
  torch::Tensor logits_from_features(const torch::Tensor& f) { return head_->forward(f); }
  const ClassifierOptions& options() const { return options_; }

 private:
  ClassifierOptions options_;
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear fc_{nullptr}, head_{nullptr};
};
TORCH_MODULE(Classifier);

// One file holding the weights, the options and the measured test accuracy.
void save_classifier(const std::string& path, Classifier& model, double test_accuracy = -1.0);
Classifier load_classifier(const std::string& path, double* test_accuracy = nullptr);

// Returns {images [B, C, H, W] in [-1, 1], labels int64 [B]}; undefined images = exhausted.
using LabelledBatchFn = std::function<std::pair<torch::Tensor, torch::Tensor>()>;

struct ClassifierTrainOptions {
  TORCH_ARG(int64_t, steps) = 1500;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, weight_decay) = 5e-4;
  TORCH_ARG(int64_t, log_every) = 100;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
};

// Adam with cosine learning-rate decay; returns the mean training accuracy of the last
// log_every steps. Images are resized to options().resolution when they differ.
double train_classifier(Classifier& model, const LabelledBatchFn& next_batch,
                        const ClassifierTrainOptions& options);

// Accuracy over all batches until the callback reports exhaustion.
double evaluate_classifier(Classifier& model, const LabelledBatchFn& next_batch,
                           const torch::Device& device = torch::kCPU);

// Resizes (bilinear) and converts channels to what the classifier expects.
torch::Tensor prepare_classifier_input(const ClassifierOptions& options, const torch::Tensor& x);

}  // namespace gan
