// The discriminator step scores each fake with the class it was generated from (reliability
// defect 1: it used the real batch's labels), and a short last batch trains without a crash.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>

#include "src/core/config.h"
#include "src/train/discriminator_step.h"
#include "src/train/trainer.h"

namespace fs = std::filesystem;

namespace {

// Images whose pixels all equal the label (so D can tell where an image came from).
struct LabelImageGenerator : gan::GeneratorImpl {
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override {
    return labels.to(torch::kFloat).reshape({-1, 1, 1, 1}).expand({z.size(0), 1, 4, 4}) + 100.0;
  }
  int z_dim() const override { return 3; }
};

// Records the labels of every call, and the image value it was shown with them.
struct RecordingDiscriminator : gan::DiscriminatorImpl {
  torch::Tensor w;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> calls;  // (first pixel per image, labels)
  RecordingDiscriminator() { w = register_parameter("w", torch::ones({1})); }
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels) override {
    calls.emplace_back(images.detach().flatten(1).select(1, 0).clone(), labels.clone());
    return images.flatten(1).mean(1) * w;
  }
};

}  // namespace

TEST_CASE("D scores each fake with the label it was generated from", "[discriminator_step]") {
  LabelImageGenerator g;
  RecordingDiscriminator d;
  gan::DiscriminatorStepInputs in;
  in.real = torch::zeros({4, 1, 4, 4});
  in.real_labels = torch::tensor({0, 1, 2, 3}, torch::kLong);
  in.z = torch::randn({4, 3});
  in.fake_labels = torch::tensor({7, 5, 7, 2}, torch::kLong);
  gan::DiscriminatorStepSettings settings;
  settings.loss_type = "wgan";
  settings.gp_weight = 1.0;
  const gan::DiscriminatorStepTerms t = gan::discriminator_step_terms(g, d, settings, in);
  REQUIRE(d.calls.size() == 3);  // reals, fakes, GP interpolates
  CHECK(torch::equal(d.calls[0].second, in.real_labels));
  // The fakes: pixel value 100 + their generation label, scored with that same label.
  CHECK(torch::equal(d.calls[1].second, in.fake_labels));
  CHECK(torch::equal(d.calls[1].first, in.fake_labels.to(torch::kFloat) + 100.0));
  // GP's rule: the interpolate of real i and fake i carries real i's label.
  CHECK(torch::equal(d.calls[2].second, in.real_labels));
  CHECK(t.reg.item<double>() > 0);
}

TEST_CASE("D step rejects rows that do not line up", "[discriminator_step]") {
  LabelImageGenerator g;
  RecordingDiscriminator d;
  gan::DiscriminatorStepInputs in;
  in.real = torch::zeros({4, 1, 4, 4});
  in.z = torch::randn({3, 3});
  gan::DiscriminatorStepSettings settings;
  settings.loss_type = "hinge";
  CHECK_THROWS_AS(gan::discriminator_step_terms(g, d, settings, in), std::invalid_argument);
}

TEST_CASE("a conditional run with a short last batch and GP trains", "[discriminator_step]") {
  // 40 images in batches of 16 leave a last batch of 8 with data.drop_last off.
  const fs::path out =
      fs::temp_directory_path() / ("gan_dstep_short_" + std::to_string(::getpid()));
  fs::remove_all(out);
  gan::Config cfg = gan::load_config(
      std::string(GAN_SOURCE_DIR) + "/configs/synthetic_shapes_tiny.yaml",
      {"data.count=40", "data.drop_last=false", "model.conditional=true",
       "loss.type=wgan", "loss.gp.lambda=10", "train.steps=4", "train.n_critic=1"});
  gan::TrainRunOptions options;
  options.outdir = out.string();
  options.handle_signals = false;
  const gan::TrainResult r = gan::train(cfg, options);
  CHECK(r.step == 4);
  // Steps 1-3 are epoch 0 (16 + 16 + 8 images), step 4 the start of epoch 1.
  CHECK(r.nimg == 16 + 16 + 8 + 16);
  fs::remove_all(out);
}
