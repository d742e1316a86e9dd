// The `classifier` detector: the framework's own small CNN (models/classifier.h).
#include <filesystem>

#include "models/classifier.h"
#include "src/core/errors.h"
#include "src/metrics/detector.h"

namespace gan {
namespace {

class ClassifierDetector : public Detector {
 public:
  ClassifierDetector(const std::string& path, const torch::Device& device) : device_(device) {
    if (!std::filesystem::exists(path))
      throw DataError("classifier detector: weights '" + path +
                      "' not found; train one with `gan train-classifier --config X` "
                      "and set metrics.detector_path");
    try {
      model_ = load_classifier(path, &test_accuracy_);
    } catch (const c10::Error& e) {
      throw DataError("classifier detector: cannot load '" + path +
                      "': " + e.what_without_backtrace());
    }
    model_->to(device);
    model_->eval();
    name_ = "classifier:" + std::filesystem::path(path).filename().string();
  }

  std::string name() const override { return name_; }
  int64_t input_resize() const override { return model_->options().resolution(); }
  std::string resize() const override {
    return "bilinear-" + std::to_string(input_resize()) + " (torch, align_corners=false)";
  }
  int64_t feature_dim() const override { return model_->options().feature_dim(); }
  double test_accuracy() const { return test_accuracy_; }

  DetectorOutput run(const torch::Tensor& images, bool want_probs) override {
    torch::InferenceMode guard;
    torch::Tensor x = images.to(device_, torch::kFloat32) / 127.5 - 1.0;
    x = prepare_classifier_input(model_->options(), x);
    DetectorOutput out;
    out.features = model_->features(x);
    if (want_probs) out.probs = torch::softmax(model_->logits_from_features(out.features), 1);
    return out;
  }

 private:
  Classifier model_{nullptr};
  torch::Device device_;
  double test_accuracy_ = -1;
  std::string name_;
};

}  // namespace

std::unique_ptr<Detector> make_classifier_detector(const std::string& path,
                                                   const torch::Device& device) {
  return std::make_unique<ClassifierDetector>(path, device);
}

}  // namespace gan
