#include "models/dcgan.h"

#include <string>

namespace gan {

int dcgan_stages(int64_t resolution) {
  for (int s = 2; s <= 6; ++s) {
    if (resolution == (int64_t{4} << s)) return s;
  }
  return -1;
}

namespace {
int64_t checked_stages(int64_t resolution) {
  const int s = dcgan_stages(resolution);
  TORCH_CHECK(s > 0, "dcgan supports resolutions 16, 32, 64, 128, 256; got ", resolution);
  return s;
}
}  // namespace

// ---------------------------------------------------------------------------------------------
DcganGeneratorImpl::DcganGeneratorImpl(const DcganGeneratorOptions& options_) : options(options_) {
  const int64_t stages = checked_stages(options.resolution());
  const int64_t w = options.width();
  const bool sn = options.spectral_norm();
  const bool one_hot = options.num_classes() > 0 && options.norm() == "none";
  const int64_t in = options.z_dim() + (one_hot ? options.num_classes() : 0);
  const int64_t cbn_classes = options.norm() == "batch" ? options.num_classes() : 0;

  int64_t ch = w << (stages - 1);
  input_ = register_module(
      "input",
      ConvTranspose2dLayer(ConvTranspose2dLayerOptions(in, ch, 4).bias(false).spectral_norm(sn)));
  norms_.push_back(
      register_module("norm0", Norm2d(Norm2dOptions(ch, options.norm()).num_classes(cbn_classes))));
  for (int64_t i = 0; i < stages; ++i) {
    const bool last = i == stages - 1;
    const int64_t out = last ? options.channels() : ch / 2;
    ups_.push_back(register_module("up" + std::to_string(i),
                                   UpConv(UpConvOptions(ch, out).spectral_norm(sn))));
    if (!last) {
      norms_.push_back(
          register_module("norm" + std::to_string(i + 1),
                          Norm2d(Norm2dOptions(out, options.norm()).num_classes(cbn_classes))));
    }
    ch = out;
  }
}

torch::Tensor DcganGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  const torch::Tensor x = generator_input(
      z, labels, options.z_dim(), options.norm() == "none" ? options.num_classes() : 0, "dcgan");
  torch::Tensor h = input_->forward(x.view({x.size(0), x.size(1), 1, 1}));
  h = torch::relu(norms_[0]->forward(h, labels));
  for (size_t i = 0; i < ups_.size(); ++i) {
    h = ups_[i]->forward(h);
    if (i + 1 < ups_.size()) h = torch::relu(norms_[i + 1]->forward(h, labels));
  }
  return torch::tanh(h);
}

// ---------------------------------------------------------------------------------------------
DcganDiscriminatorImpl::DcganDiscriminatorImpl(const DcganDiscriminatorOptions& options_)
    : options(options_) {
  const int64_t stages = checked_stages(options.resolution());
  TORCH_CHECK(options.norm() == "batch" || options.norm() == "none",
              "dcgan discriminator: unknown norm '", options.norm(), "' (known: batch, none)");
  const bool sn = options.spectral_norm();
  int64_t ch = options.channels();
  for (int64_t i = 0; i < stages; ++i) {
    const int64_t out = options.width() << i;
    downs_.push_back(register_module(
        "down" + std::to_string(i),
        Conv2dLayer(
            Conv2dLayerOptions(ch, out, 4).stride(2).padding(1).bias(false).spectral_norm(sn))));
    if (i > 0 && options.norm() == "batch") {
      norms_.push_back(register_module("bn" + std::to_string(i), torch::nn::BatchNorm2d(out)));
    }
    ch = out;
  }
  output_ = register_module(
      "output", Conv2dLayer(Conv2dLayerOptions(ch, 1, 4).bias(false).spectral_norm(sn)));
  if (options.num_classes() > 0) {
    embed_ = register_module(
        "embed",
        EmbeddingLayer(EmbeddingLayerOptions(options.num_classes(), ch).spectral_norm(sn)));
  }
}

torch::Tensor DcganDiscriminatorImpl::forward(const torch::Tensor& images,
                                              const torch::Tensor& labels) {
  torch::Tensor h = images;
  for (size_t i = 0; i < downs_.size(); ++i) {
    h = downs_[i]->forward(h);
    if (i > 0 && !norms_.empty()) h = norms_[i - 1]->forward(h);
    h = torch::leaky_relu(h, 0.2);
  }
  torch::Tensor out = output_->forward(h).reshape({-1});
  if (embed_) out = out + projection(embed_, h.sum({2, 3}), labels);
  return out;
}

GeneratorEntry dcgan_generator_entry() {
  GeneratorEntry e;
  e.schema = {
      "dcgan",
      "DCGAN (Radford et al. 2016): transposed convolutions from 4x4 up; resolutions 16-256.",
      {int_key("z_dim", 100, "Latent dimension.", within(1, 4096)),
       int_key("width", 64, "Base channels.", within(1, 4096)),
       string_key("norm", "batch",
                  "Normalisation: batch (class-conditional batch norm in a conditional "
                  "model) or none.",
                  {"batch", "none"}),
       bool_key("spectral_norm", false, "Spectral norm on every weight.")}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    check_network_shape("model.g.type", "dcgan", shape, dcgan_stages(shape.resolution) > 0,
                        "16, 32, 64, 128, 256");
    return std::static_pointer_cast<GeneratorImpl>(
        std::make_shared<DcganGeneratorImpl>(DcganGeneratorOptions(shape.resolution, shape.channels)
                                                 .z_dim(own.get_int("z_dim"))
                                                 .width(own.get_int("width"))
                                                 .norm(own.get_string("norm"))
                                                 .spectral_norm(own.get_bool("spectral_norm"))
                                                 .num_classes(shape.num_classes)));
  };
  return e;
}

DiscriminatorEntry dcgan_discriminator_entry() {
  DiscriminatorEntry e;
  e.schema = {"dcgan",
              "DCGAN discriminator: strided convolutions down to 4x4 (projection when "
              "conditional); resolutions 16-256.",
              {int_key("width", 64, "Base channels.", within(1, 4096)),
               string_key("norm", "batch", "Normalisation: batch or none.", {"batch", "none"}),
               bool_key("spectral_norm", false, "Spectral norm on every weight (SNGAN).")}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    check_network_shape("model.d.type", "dcgan", shape, dcgan_stages(shape.resolution) > 0,
                        "16, 32, 64, 128, 256");
    return std::static_pointer_cast<DiscriminatorImpl>(std::make_shared<DcganDiscriminatorImpl>(
        DcganDiscriminatorOptions(shape.resolution, shape.channels)
            .width(own.get_int("width"))
            .norm(own.get_string("norm"))
            .spectral_norm(own.get_bool("spectral_norm"))
            .num_classes(shape.num_classes)));
  };
  return e;
}

}  // namespace gan
