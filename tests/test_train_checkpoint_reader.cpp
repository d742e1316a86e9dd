// The checkpoint reader refuses structurally broken zips before LibTorch sees them (issue 16):
// InputArchive::load_from trusts record offsets and sizes, and allocated the claimed size of a
// record (GBs) or crashed on records past the end of the file.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "src/core/npy.h"
#include "src/train/checkpoint.h"

namespace fs = std::filesystem;
using Catch::Contains;

TEST_CASE("checkpoint reader: a corrupt zip is an error naming the file", "[train][checkpoint]") {
  const fs::path dir =
      fs::temp_directory_path() / ("gan_ckpt_reader_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string p = (dir / "ckpt-00000001.pt").string();
  gan::save_checkpoint(p, gan::default_config(), {}, gan::TrainProgress{});
  REQUIRE(gan::read_checkpoint_info(p).format_version == gan::kCheckpointFormatVersion);
  std::string bytes;
  {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  // Without its checksum comment (an older checkpoint, loaded unverified), so that the damage
  // below reaches the structural check instead of failing the CRC first.
  const size_t eocd = bytes.rfind(std::string("PK\x05\x06", 4));
  REQUIRE(eocd != std::string::npos);
  bytes.resize(eocd + 22);
  bytes[eocd + 20] = 0;
  bytes[eocd + 21] = 0;
  SECTION("record sizes far past the end") {
    uint32_t cd = 0;
    std::memcpy(&cd, bytes.data() + bytes.size() - 22 + 16, 4);
    const uint32_t huge = 0x7FFFFFF0u;
    std::memcpy(&bytes[cd + 20], &huge, 4);
    std::memcpy(&bytes[cd + 24], &huge, 4);
    std::ofstream(p, std::ios::binary) << bytes;
    CHECK_THROWS_WITH(gan::read_checkpoint_info(p), Contains(p) && Contains("corrupt zip"));
    gan::CheckpointParts none;
    CHECK_THROWS_WITH(gan::load_checkpoint(p, none, false), Contains("corrupt zip"));
  }
  SECTION("an .npz is not a checkpoint") {
    gan::save_npz(p, {{"a", torch::zeros({3})}});
    CHECK_THROWS_WITH(gan::read_checkpoint_info(p), Contains(p) && Contains("LibTorch"));
  }
  SECTION("garbage") {
    std::ofstream(p, std::ios::binary) << std::string(100000, '\x07');
    // The checksum check sees it first: no end-of-archive record at all.
    CHECK_THROWS_WITH(gan::read_checkpoint_info(p), Contains(p) && Contains("corrupt"));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Issue 14: the checkpoint format went to 2 with the component layout of the config; a format-1
// checkpoint (flat keys) still reads, its stored config translated.
TEST_CASE("a format-1 checkpoint's config loads through the documented mapping",
          "[checkpoint][format]") {
  const std::string old = std::string(GAN_SOURCE_DIR) + "/tests/fuzz/checkpoint/tiny_g.pt";
  const gan::CheckpointInfo info = gan::read_checkpoint_info(old);
  CHECK(info.format_version == 1);
  CHECK_THAT(info.config_yaml, Catch::Contains("g_width:"));
  const gan::Config cfg = gan::stored_config(info, old);
  CHECK(cfg.model.g.type == "dcgan");
  CHECK(cfg.model.g.get_int("width") > 0);
  CHECK(gan::kCheckpointFormatVersion == 2);
}
