#include "models/classifier.h"

#include <spdlog/spdlog.h>

#include <cmath>

namespace gan {
namespace {

void push_conv_bn_relu(torch::nn::Sequential& seq, int64_t in, int64_t out) {
  seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
  seq->push_back(torch::nn::BatchNorm2d(out));
  seq->push_back(torch::nn::ReLU(true));
}

}  // namespace

ClassifierImpl::ClassifierImpl(const ClassifierOptions& options) : options_(options) {
  const int64_t w = options.width();
  torch::nn::Sequential body;
  push_conv_bn_relu(body, options.channels(), w);
  push_conv_bn_relu(body, w, w);
  body->push_back(torch::nn::MaxPool2d(2));
  push_conv_bn_relu(body, w, 2 * w);
  push_conv_bn_relu(body, 2 * w, 2 * w);
  body->push_back(torch::nn::MaxPool2d(2));
  push_conv_bn_relu(body, 2 * w, 4 * w);
  body->push_back(torch::nn::AdaptiveAvgPool2d(1));
  body->push_back(torch::nn::Flatten());
  body_ = register_module("body", body);
  fc_ = register_module("fc", torch::nn::Linear(4 * w, options.feature_dim()));
  head_ = register_module("head", torch::nn::Linear(options.feature_dim(), options.num_classes()));
}

torch::Tensor ClassifierImpl::features(const torch::Tensor& x) {
  return torch::relu(fc_->forward(body_->forward(x)));
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x) {
  return head_->forward(features(x));
}

torch::Tensor prepare_classifier_input(const ClassifierOptions& options,
                                       const torch::Tensor& x_in) {
  torch::Tensor x = x_in;
  if (x.size(1) != options.channels()) {
    if (x.size(1) == 1)
      x = x.expand({-1, options.channels(), -1, -1});
    else
      x = x.mean(1, true).expand({-1, options.channels(), -1, -1});
  }
  const int64_t r = options.resolution();
  if (x.size(2) != r || x.size(3) != r) {
    x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{r, r})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
  }
  return x.contiguous();
}

void save_classifier(const std::string& path, Classifier& model, double test_accuracy) {
  torch::serialize::OutputArchive archive;
  model->save(archive);
  const auto& o = model->options();
  archive.write("gan_meta_channels", torch::tensor(o.channels()));
  archive.write("gan_meta_num_classes", torch::tensor(o.num_classes()));
  archive.write("gan_meta_resolution", torch::tensor(o.resolution()));
  archive.write("gan_meta_width", torch::tensor(o.width()));
  archive.write("gan_meta_feature_dim", torch::tensor(o.feature_dim()));
  archive.write("gan_meta_test_accuracy", torch::tensor(test_accuracy, torch::kFloat64));
  archive.save_to(path);
}

Classifier load_classifier(const std::string& path, double* test_accuracy) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  auto get = [&](const char* key) {
    torch::Tensor t;
    archive.read(key, t);
    return t;
  };
  ClassifierOptions o(get("gan_meta_channels").item<int64_t>(),
                      get("gan_meta_num_classes").item<int64_t>());
  o.resolution(get("gan_meta_resolution").item<int64_t>())
      .width(get("gan_meta_width").item<int64_t>())
      .feature_dim(get("gan_meta_feature_dim").item<int64_t>());
  Classifier model(o);
  model->load(archive);
  model->eval();
  if (test_accuracy) *test_accuracy = get("gan_meta_test_accuracy").item<double>();
  return model;
}

double train_classifier(Classifier& model, const LabelledBatchFn& next_batch,
                        const ClassifierTrainOptions& options) {
  model->to(options.device());
  model->train();
  torch::optim::Adam opt(
      model->parameters(),
      torch::optim::AdamOptions(options.lr()).weight_decay(options.weight_decay()));
  int64_t correct = 0, seen = 0;
  double last_acc = 0;
  for (int64_t step = 0; step < options.steps(); ++step) {
    auto [images, labels] = next_batch();
    if (!images.defined()) break;
    // Cosine decay to zero: a fixed budget of steps without a schedule to tune.
    const double lr = 0.5 * options.lr() * (1 + std::cos(M_PI * step / options.steps()));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    torch::Tensor x = prepare_classifier_input(model->options(), images.to(options.device()));
    torch::Tensor y = labels.to(options.device(), torch::kInt64);
    torch::Tensor logits = model->forward(x);
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    seen += y.size(0);
    if ((step + 1) % options.log_every() == 0 || step + 1 == options.steps()) {
      last_acc = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
      spdlog::info("classifier step {}/{} loss {:.4f} train acc {:.4f}", step + 1, options.steps(),
                   loss.item<double>(), last_acc);
      correct = seen = 0;
    }
  }
  model->eval();
  return last_acc;
}

double evaluate_classifier(Classifier& model, const LabelledBatchFn& next_batch,
                           const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0, seen = 0;
  for (;;) {
    auto [images, labels] = next_batch();
    if (!images.defined()) break;
    torch::Tensor x = prepare_classifier_input(model->options(), images.to(device));
    correct +=
        model->forward(x).argmax(1).eq(labels.to(device, torch::kInt64)).sum().item<int64_t>();
    seen += labels.size(0);
  }
  return seen ? static_cast<double>(correct) / seen : 0.0;
}

}  // namespace gan
