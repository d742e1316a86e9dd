#include "src/train/provenance.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "data/image_grid.h"
#include "models/sampling.h"
#include "models/stylegan2_generator.h"
#include "src/core/errors.h"
#include "src/train/generator_checkpoint.h"

namespace gan {
namespace {

// Shortest text that reads back as the same double.
std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  for (int digits = 1; digits < 17; ++digits) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", digits, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string tile_token(const ProvenanceTile& t) {
  std::string s = std::to_string(t.seed);
  if (t.interp_to >= 0)
    s += ">" + std::to_string(t.interp_to) + "@" + std::to_string(t.interp_step);
  if (t.mix_seed >= 0) s += "*" + std::to_string(t.mix_seed);
  if (t.label >= 0) s += ":" + std::to_string(t.label);
  return s;
}

bool single_tile(const std::string& kind) {
  return kind == "sample" || kind == "frame";
}

// Reads the "gan:" keys of one image, each error naming the image and the key.
class TextReader {
 public:
  TextReader(const PngText& text, std::string what) : text_(text), what_(std::move(what)) {}

  const std::string& str(const std::string& key) const {
    const std::string* v = find_png_text(text_, "gan:" + key);
    if (!v) throw DataError(what_ + ": provenance key gan:" + key + " is missing");
    return *v;
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    return parse_int(str(key), key, lo, hi);
  }
  double real(const std::string& key) const {
    const std::string& v = str(key);
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !std::isfinite(d)) bad(key, v);
    return d;
  }
  // A class: "none" or an index.
  int64_t label(const std::string& key) const {
    const std::string& v = str(key);
    return v == "none" ? -1 : parse_int(v, key, 0, 1 << 30);
  }
  int64_t parse_int(const std::string& v, const std::string& key, int64_t lo, int64_t hi) const {
    try {
      size_t used = 0;
      const long long n = std::stoll(v, &used);
      if (used == v.size() && n >= lo && n <= hi) return n;
    } catch (const std::exception&) {
    }
    bad(key, v);
    return 0;
  }
  [[noreturn]] void bad(const std::string& key, const std::string& v) const {
    throw DataError(what_ + ": provenance key gan:" + key + " has the malformed value '" +
                    v.substr(0, 80) + "'");
  }

 private:
  const PngText& text_;
  std::string what_;
};

ProvenanceTile parse_tile(const std::string& token, const TextReader& r) {
  // seed[>to@step][*mix][:class]
  ProvenanceTile t;
  std::string rest = token;
  const size_t colon = rest.find(':');
  if (colon != std::string::npos) {
    t.label = r.parse_int(rest.substr(colon + 1), "tiles", 0, 1 << 30);
    rest = rest.substr(0, colon);
  }
  const size_t star = rest.find('*');
  if (star != std::string::npos) {
    t.mix_seed = r.parse_int(rest.substr(star + 1), "tiles", 0, INT64_MAX);
    rest = rest.substr(0, star);
  }
  const size_t arrow = rest.find('>');
  if (arrow != std::string::npos) {
    const size_t at = rest.find('@', arrow);
    if (at == std::string::npos) r.bad("tiles", token);
    t.interp_to = r.parse_int(rest.substr(arrow + 1, at - arrow - 1), "tiles", 0, INT64_MAX);
    t.interp_step = int(r.parse_int(rest.substr(at + 1), "tiles", 0, 1 << 20));
    rest = rest.substr(0, arrow);
  }
  t.seed = r.parse_int(rest, "tiles", 0, INT64_MAX);
  return t;
}

nlohmann::json tile_json(const ProvenanceTile& t) {
  nlohmann::json j;
  j["seed"] = t.seed;
  j["class"] = t.label >= 0 ? nlohmann::json(t.label) : nlohmann::json(nullptr);
  if (t.interp_to >= 0) {
    j["interp_to"] = t.interp_to;
    j["interp_step"] = t.interp_step;
  }
  if (t.mix_seed >= 0) j["mix_seed"] = t.mix_seed;
  return j;
}

}  // namespace

Provenance provenance_for(const LoadedGenerator& loaded, const std::string& checkpoint_path,
                          const std::string& checkpoint_sha256, bool use_ema,
                          const std::string& device) {
  Provenance p;
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(checkpoint_path, ec);
  p.checkpoint = ec ? checkpoint_path : abs.lexically_normal().string();
  p.checkpoint_sha256 = checkpoint_sha256;
  p.step = loaded.step;
  p.kimg = loaded.kimg;
  p.generator = use_ema ? "G_ema" : "G";
  p.resolution = loaded.shape.resolution;
  p.channels = loaded.shape.channels;
  p.device = device;
  // load_generator gives StyleGAN2 generators their stored noise.
  if (dynamic_cast<const StyleGan2GeneratorImpl*>(loaded.g.get())) p.noise_mode = "const";
  return p;
}

PngText provenance_to_text(const Provenance& p) {
  PngText t = {{"Software", "gan " + p.gan_version},
               {"gan:version", p.gan_version},
               {"gan:kind", p.kind},
               {"gan:checkpoint", p.checkpoint},
               {"gan:checkpoint-sha256", p.checkpoint_sha256},
               {"gan:step", std::to_string(p.step)},
               {"gan:kimg", format_double(p.kimg)},
               {"gan:generator", p.generator},
               {"gan:truncation", format_double(p.truncation)},
               {"gan:truncation-mode", p.truncation_mode},
               {"gan:truncation-psi", format_double(p.truncation_psi)},
               {"gan:truncation-cutoff", p.truncation_cutoff},
               {"gan:noise-mode", p.noise_mode},
               {"gan:resolution", std::to_string(p.resolution)},
               {"gan:channels", std::to_string(p.channels)},
               {"gan:precision", p.precision},
               {"gan:device", p.device}};
  if (!p.interp.empty()) {
    t.push_back({"gan:interp", p.interp});
    t.push_back({"gan:interp-steps", std::to_string(p.interp_steps)});
    t.push_back({"gan:interp-space", p.interp_space});
  }
  if (p.kind == "mix") t.push_back({"gan:mix-layer", std::to_string(p.mix_layer)});
  if (single_tile(p.kind) && p.tiles.size() == 1) {
    const ProvenanceTile& tile = p.tiles[0];
    t.push_back({"gan:seed", std::to_string(tile.seed)});
    t.push_back({"gan:class", tile.label >= 0 ? std::to_string(tile.label) : "none"});
    if (tile.interp_to >= 0) {
      t.push_back({"gan:interp-to", std::to_string(tile.interp_to)});
      t.push_back({"gan:interp-step", std::to_string(tile.interp_step)});
    }
  } else {
    std::string tiles;
    for (const auto& tile : p.tiles) tiles += (tiles.empty() ? "" : " ") + tile_token(tile);
    t.push_back({"gan:columns", std::to_string(p.columns)});
    t.push_back({"gan:tiles", tiles});
  }
  return t;
}

std::optional<Provenance> provenance_from_text(const PngText& text, const std::string& what) {
  if (!find_png_text(text, "gan:version")) return std::nullopt;
  const TextReader r(text, what);
  Provenance p;
  p.gan_version = r.str("version");
  p.kind = r.str("kind");
  if (p.kind != "sample" && p.kind != "grid" && p.kind != "frame" && p.kind != "interp" &&
      p.kind != "mix") {
    r.bad("kind", p.kind);
  }
  p.checkpoint = r.str("checkpoint");
  p.checkpoint_sha256 = r.str("checkpoint-sha256");
  p.step = r.integer("step", 0, INT64_MAX);
  p.kimg = r.real("kimg");
  p.generator = r.str("generator");
  p.truncation = r.real("truncation");
  p.truncation_mode = r.str("truncation-mode");
  p.truncation_psi = r.real("truncation-psi");
  p.truncation_cutoff = r.str("truncation-cutoff");
  if (p.truncation_cutoff != "none") r.integer("truncation-cutoff", 1, 1 << 20);
  p.noise_mode = r.str("noise-mode");
  p.resolution = r.integer("resolution", 1, 1 << 20);
  p.channels = r.integer("channels", 1, 4);
  p.precision = r.str("precision");
  p.device = r.str("device");
  if (p.kind == "frame" || p.kind == "interp") {
    p.interp = r.str("interp");
    p.interp_steps = int(r.integer("interp-steps", 2, 1 << 20));
    // Images of gan versions before w-space interpolation carry no space: z.
    if (find_png_text(text, "gan:interp-space")) p.interp_space = r.str("interp-space");
    if (p.interp_space != "z" && p.interp_space != "w") r.bad("interp-space", p.interp_space);
  }
  if (p.kind == "mix") p.mix_layer = int(r.integer("mix-layer", 0, 1 << 20));
  if (single_tile(p.kind)) {
    ProvenanceTile tile;
    tile.seed = r.integer("seed", 0, INT64_MAX);
    tile.label = r.label("class");
    if (p.kind == "frame") {
      tile.interp_to = r.integer("interp-to", 0, INT64_MAX);
      tile.interp_step = int(r.integer("interp-step", 0, p.interp_steps - 1));
    }
    p.tiles = {tile};
  } else {
    p.columns = int(r.integer("columns", 1, 1 << 24));
    std::istringstream tokens(r.str("tiles"));
    std::string token;
    while (tokens >> token) {
      p.tiles.push_back(parse_tile(token, r));
      if (p.tiles.back().interp_step >= std::max(p.interp_steps, 1)) r.bad("tiles", token);
    }
    if (p.tiles.empty()) r.bad("tiles", "");
  }
  return p;
}

nlohmann::json provenance_settings_json(const Provenance& p) {
  nlohmann::json j;
  j["gan_version"] = p.gan_version;
  j["checkpoint"] = p.checkpoint;
  j["checkpoint_sha256"] = p.checkpoint_sha256;
  j["step"] = p.step;
  j["kimg"] = p.kimg;
  j["generator"] = p.generator;
  j["truncation"] = p.truncation;
  j["truncation_mode"] = p.truncation_mode;
  j["truncation_psi"] = p.truncation_psi;
  j["truncation_cutoff"] = p.truncation_cutoff;
  j["noise_mode"] = p.noise_mode;
  if (!p.interp.empty()) {
    j["interp"] = p.interp;
    j["interp_steps"] = p.interp_steps;
    j["interp_space"] = p.interp_space;
  }
  if (p.mix_layer >= 0) j["mix_layer"] = p.mix_layer;
  j["resolution"] = p.resolution;
  j["channels"] = p.channels;
  j["precision"] = p.precision;
  j["device"] = p.device;
  return j;
}

nlohmann::json provenance_entry_json(const Provenance& p, const std::string& file,
                                     const std::string& sha256) {
  nlohmann::json j;
  j["file"] = file;
  j["sha256"] = sha256;
  j["kind"] = p.kind;
  if (single_tile(p.kind) && p.tiles.size() == 1) {
    const nlohmann::json tile = tile_json(p.tiles[0]);
    for (auto it = tile.begin(); it != tile.end(); ++it) j[it.key()] = it.value();
  } else {
    j["columns"] = p.columns;
    j["tiles"] = nlohmann::json::array();
    for (const auto& t : p.tiles) j["tiles"].push_back(tile_json(t));
  }
  return j;
}

torch::Tensor tile_latent(const Provenance& p, const ProvenanceTile& tile, int z_dim) {
  const torch::Tensor a = latent_for_seed(tile.seed, z_dim, p.truncation, p.truncation_mode);
  if (tile.interp_to < 0) return a;
  const torch::Tensor b = latent_for_seed(tile.interp_to, z_dim, p.truncation, p.truncation_mode);
  return interpolate_latents(a, b, tile.interp_step, p.interp_steps, p.interp);
}

torch::Tensor render_tiles(const Provenance& p, const std::vector<ProvenanceTile>& tiles,
                           const LoadedGenerator& loaded, c10::Device device) {
  const bool conditional = loaded.cfg.model.conditional;
  const int z_dim = loaded.g->z_dim();
  torch::InferenceMode guard;
  std::vector<int64_t> labels;
  for (const auto& t : tiles) labels.push_back(t.label);
  const torch::Tensor y =
      conditional ? torch::tensor(labels, torch::kLong).to(device) : torch::Tensor();
  auto latents = [&](auto latent_of) {
    std::vector<torch::Tensor> zs;
    for (const auto& t : tiles) zs.push_back(latent_of(t));
    return torch::stack(zs).to(device);
  };
  auto* style = dynamic_cast<StyleGan2GeneratorImpl*>(loaded.g.get());
  if (!style) {
    if (p.truncation_psi != 1 || p.truncation_cutoff != "none" || p.noise_mode != "none" ||
        p.interp_space != "z" || p.kind == "mix") {
      throw std::invalid_argument(
          "w-space settings (psi, cutoff, noise mode, w interpolation, style mixing) need a "
          "style generator (model.g.type stylegan2)");
    }
    const torch::Tensor z =
        latents([&](const ProvenanceTile& t) { return tile_latent(p, t, z_dim); });
    return loaded.g->forward(z, y).to(torch::kCPU);
  }
  // One tile at a time: the convolutions' and matmuls' kernels (and so the last bits of the
  // result) may depend on the batch size, and an image must not depend on its batch.
  if (tiles.size() > 1) {
    std::vector<torch::Tensor> images;
    for (const auto& t : tiles) images.push_back(render_tiles(p, {t}, loaded, device));
    return torch::cat(images);
  }
  const int64_t cutoff = p.truncation_cutoff == "none" ? -1 : std::stoll(p.truncation_cutoff);
  auto map = [&](const torch::Tensor& z) {
    return style->mapping(z, y, p.truncation_psi, cutoff, /*update_w_avg=*/false);
  };
  torch::Tensor ws;
  if (p.interp_space == "w") {
    // lerp of the endpoints' ws; torch::lerp is exact at both ends.
    const torch::Tensor wa = map(latents([&](const ProvenanceTile& t) {
      return latent_for_seed(t.seed, z_dim, p.truncation, p.truncation_mode);
    }));
    const torch::Tensor wb = map(latents([&](const ProvenanceTile& t) {
      return latent_for_seed(t.interp_to >= 0 ? t.interp_to : t.seed, z_dim, p.truncation,
                             p.truncation_mode);
    }));
    std::vector<float> weights;
    for (const auto& t : tiles) {
      weights.push_back(t.interp_to >= 0 ? float(t.interp_step) / float(p.interp_steps - 1) : 0.f);
    }
    ws = torch::lerp(wa, wb, torch::tensor(weights).to(device).view({-1, 1, 1}));
  } else {
    ws = map(latents([&](const ProvenanceTile& t) { return tile_latent(p, t, z_dim); }));
  }
  if (p.kind == "mix") {
    const torch::Tensor wm = map(latents([&](const ProvenanceTile& t) {
      return latent_for_seed(t.mix_seed >= 0 ? t.mix_seed : t.seed, z_dim, p.truncation,
                             p.truncation_mode);
    }));
    std::vector<torch::Tensor> rows;
    for (size_t i = 0; i < tiles.size(); ++i) {
      const torch::Tensor wi = ws.slice(0, int64_t(i), int64_t(i) + 1);
      rows.push_back(tiles[i].mix_seed >= 0
                         ? mix_styles(wi, wm.slice(0, int64_t(i), int64_t(i) + 1), p.mix_layer)
                         : wi);
    }
    ws = torch::cat(rows);
  }
  return style->synthesis(ws, stylegan2::parse_noise_mode(p.noise_mode)).to(torch::kCPU);
}

cv::Mat regenerate_image(const Provenance& p, const LoadedGenerator& loaded, c10::Device device) {
  auto forward = [&](size_t first, size_t last) {
    return render_tiles(
        p, std::vector<ProvenanceTile>(p.tiles.begin() + first, p.tiles.begin() + last), loaded,
        device);
  };
  if (single_tile(p.kind)) return make_grid(forward(0, 1), 1);
  // Grids as `gan generate` makes them: uint8 tiles, back to floats that quantise to the same
  // bytes, one grid.
  std::vector<torch::Tensor> u8;
  constexpr size_t kBatch = 32;
  for (size_t first = 0; first < p.tiles.size(); first += kBatch) {
    u8.push_back(to_uint8_nhwc(forward(first, std::min(p.tiles.size(), first + kBatch))));
  }
  return make_grid((torch::cat(u8).permute({0, 3, 1, 2}).to(torch::kFloat) - 127.5f) / 127.5f,
                   p.columns);
}

ManifestWriter::ManifestWriter(const std::string& path, const nlohmann::json& settings)
    : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw std::runtime_error(tmp_ + ": cannot write the manifest");
  // The settings object without its closing brace, then the images one per line.
  std::string head = settings.dump(2);
  head.resize(head.rfind('}'));
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.pop_back();
  out_ << head << (settings.empty() ? "" : ",") << "\n  \"images\": [";
}

ManifestWriter::~ManifestWriter() {
  if (!finished_) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void ManifestWriter::add(const nlohmann::json& entry) {
  out_ << (count_++ ? ",\n    " : "\n    ") << entry.dump();
}

void ManifestWriter::finish() {
  out_ << (count_ ? "\n  ]\n}\n" : "]\n}\n");
  out_.close();
  if (!out_) throw std::runtime_error(path_ + ": cannot write the manifest");
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw std::runtime_error(path_ + ": cannot write the manifest: " + ec.message());
  finished_ = true;
}

}  // namespace gan
