// Checks for crash-consistency tests (scripts/soak.sh): does every checkpoint load completely,
// and do two runs agree exactly?
//   ckpt_tool verify FILE...   load metadata, G, D, G_ema and both Adam states of each file
//   ckpt_tool digest FILE      CRC-32 of progress, every tensor's bytes, both optimizer states
//                              (in parameter order) and the RNG state. The files themselves
//                              differ between processes: LibTorch names optimizer state by
//                              memory address.
//   ckpt_tool stats FILE       stats.jsonl rows without the timing fields (which differ by run)
#include <torch/torch.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/networks.h"
#include "src/core/config.h"
#include "src/train/checkpoint.h"
#include "src/train/component_catalog.h"

namespace {

struct Loaded {
  gan::CheckpointInfo info;
  std::shared_ptr<gan::GeneratorImpl> g, g_ema;
  std::shared_ptr<gan::DiscriminatorImpl> d;
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
};

Loaded load_all(const std::string& path) {
  Loaded l;
  l.info = gan::read_checkpoint_info(path);
  const gan::Config cfg = gan::stored_config(l.info, path);
  const gan::NetworkShape shape{cfg.data.resolution, cfg.data.channels,
                                int(l.info.progress.num_classes)};
  l.g = gan::make_generator(cfg.model, shape);
  l.d = gan::make_discriminator(cfg.model, shape);
  l.g_ema = gan::make_generator(cfg.model, shape);
  l.opt_g = std::make_unique<torch::optim::Adam>(l.g->parameters());
  l.opt_d = std::make_unique<torch::optim::Adam>(l.d->parameters());
  gan::load_checkpoint(path, {l.g.get(), l.d.get(), l.g_ema.get(), l.opt_g.get(), l.opt_d.get()},
                       /*restore_rng=*/true);
  return l;
}

void add(uLong& crc, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().cpu();
  crc = crc32(crc, static_cast<const Bytef*>(c.data_ptr()), uInt(c.numel() * c.element_size()));
}

void add(uLong& crc, int64_t v) {
  crc = crc32(crc, reinterpret_cast<const Bytef*>(&v), 8);
}

uLong digest(const Loaded& l) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto& p = l.info.progress;
  for (int64_t v : {p.step, p.nimg, p.loader_epoch, p.loader_batch, p.num_classes}) add(crc, v);
  for (torch::nn::Module* m :
       {static_cast<torch::nn::Module*>(l.g.get()), static_cast<torch::nn::Module*>(l.d.get()),
        static_cast<torch::nn::Module*>(l.g_ema.get())}) {
    for (const auto& t : m->named_parameters()) add(crc, t.value());
    for (const auto& t : m->named_buffers()) add(crc, t.value());
  }
  for (torch::optim::Adam* opt : {l.opt_g.get(), l.opt_d.get()}) {
    for (const auto& param : opt->param_groups()[0].params()) {
      // LibTorch keys optimizer state by the parameter's TensorImpl address, as text.
      std::ostringstream key;
      key << param.unsafeGetTensorImpl();
      auto it = opt->state().find(key.str());
      if (it == opt->state().end()) continue;
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      add(crc, s.step());
      add(crc, s.exp_avg());
      add(crc, s.exp_avg_sq());
    }
  }
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    add(crc, gen.get_state());  // the saved training RNG state (restored by load_all)
  }
  return crc;
}

}  // namespace

int main(int argc, char** argv) {
  gan::register_all_components();
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "verify" && argc > 2) {
      int bad = 0;
      for (int i = 2; i < argc; ++i) {
        try {
          Loaded l = load_all(argv[i]);
          std::cout << "ok " << argv[i] << " step " << l.info.progress.step << "\n";
        } catch (const std::exception& e) {
          std::cout << "BAD " << argv[i] << ": " << e.what() << "\n";
          ++bad;
        }
      }
      return bad ? 1 : 0;
    }
    if (cmd == "digest" && argc == 3) {
      Loaded l = load_all(argv[2]);
      std::printf("%08lx step %lld\n", static_cast<unsigned long>(digest(l)),
                  static_cast<long long>(l.info.progress.step));
      return 0;
    }
    if (cmd == "stats" && argc == 3) {
      std::ifstream in(argv[2]);
      if (!in) throw std::runtime_error(std::string(argv[2]) + ": cannot open");
      std::string line;
      while (std::getline(in, line)) {
        auto row = nlohmann::json::parse(line);
        for (const char* k :
             {"sec_per_kimg", "img_per_s", "data_wait_share", "peak_rss_mb", "timestamp"}) {
          row.erase(k);
        }
        std::cout << row.dump() << "\n";
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: ckpt_tool verify FILE... | digest FILE | stats STATS_JSONL\n";
  return 2;
}
