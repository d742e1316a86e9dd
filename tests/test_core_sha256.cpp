// SHA-256 against the FIPS 180-2 test vectors, and file hashing in blocks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "src/core/sha256.h"

using namespace gan;

TEST_CASE("sha256 matches the FIPS 180-2 vectors", "[core][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256_file_hex hashes the bytes of a file larger than one block", "[core][sha256]") {
  namespace fs = std::filesystem;
  const fs::path p = fs::temp_directory_path() / ("gan_sha_" + std::to_string(::getpid()));
  // One million 'a': the FIPS 180-2 long-message vector, read in more than one 1 MiB block
  // once doubled.
  const std::string million(1000000, 'a');
  { std::ofstream(p, std::ios::binary) << million; }
  CHECK(sha256_file_hex(p.string()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  { std::ofstream(p, std::ios::binary) << million << million; }
  CHECK(sha256_file_hex(p.string()) == sha256_hex(million + million));
  fs::remove(p);
  CHECK_THROWS_WITH(sha256_file_hex(p.string()), Catch::Contains(p.string()));
}
