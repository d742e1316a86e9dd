// Helpers for the `gan serve` tests: two tiny trained runs (once per process), a server on a
// free loopback port, and PNG decoding.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "src/serve/server.h"
#include "train_test_util.h"

namespace serve_test {
namespace fs = std::filesystem;

struct Runs {
  std::string root;                    // holds uncond/ and cond/
  std::string uncond, cond;            // run folders
  std::string uncond_ckpt, cond_ckpt;  // their newest checkpoints
  std::string secret;                  // a file beside root, which must never be served
};

// Trains `sets` for 8 steps into <root>/<name>.
inline std::string train_run(const std::string& root, const std::string& name,
                             const std::vector<std::string>& sets) {
  const std::string out = (fs::path(root) / ("tmp_" + name)).string();
  const gan::TrainResult r = gan::train(train_test::tiny(sets), train_test::run_options(out));
  const fs::path dir = fs::path(root) / name;
  fs::rename(r.run_dir, dir);
  fs::remove_all(out);
  return dir.string();
}

// The two runs, with a metric log (written here, values chosen by the test) and a second grid.
inline const Runs& runs() {
  static const Runs r = [] {
    Runs x;
    const std::string base = train_test::fresh_dir("serve", "runs");
    x.root = (fs::path(base) / "runs").string();
    fs::create_directories(x.root);
    x.uncond = train_run(x.root, "uncond", {});
    x.cond = train_run(x.root, "cond", {"model.conditional=true"});
    x.uncond_ckpt = gan::list_checkpoints(x.uncond).at(0);
    x.cond_ckpt = gan::list_checkpoints(x.cond).at(0);
    std::ofstream(fs::path(x.uncond) / "metric-fid.jsonl")
        << R"({"metric":"fid","kimg":0.032,"step":2,"results":{"fid":50.0}})"
        << "\n"
        << R"({"metric":"fid","kimg":0.064,"step":4,"results":{"fid":30.0}})"
        << "\n"
        << R"({"metric":"fid","kimg":0.128,"step":8,"results":{"fid":40.0}})"
        << "\n";
    fs::copy_file(fs::path(x.uncond) / "fakes000000.png", fs::path(x.uncond) / "fakes000001.png");
    x.secret = (fs::path(base) / "secret.txt").string();
    std::ofstream(x.secret) << "not for the browser\n";
    fs::create_symlink(x.secret, fs::path(x.uncond) / "link-out.txt");
    fs::create_symlink(fs::path(x.uncond) / "config.yaml", fs::path(x.uncond) / "link-in.yaml");
    return x;
  }();
  return r;
}

// A server over runs().root on a free loopback port, stopped on destruction.
struct TestServer {
  explicit TestServer(gan::serve::ExplorerOptions explorer = {}) {
    gan::serve::ServeOptions o;
    o.runs_root = runs().root;
    o.checkpoint = runs().uncond_ckpt;
    o.port = 0;
    o.explorer = explorer;
    server = std::make_unique<gan::serve::Server>(o);
    port = server->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::unique_ptr<gan::serve::Server> server;
  int port = 0;
};

inline cv::Mat decode_png(const std::string& bytes) {
  std::vector<uchar> buf(bytes.begin(), bytes.end());
  return cv::imdecode(buf, cv::IMREAD_UNCHANGED);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace serve_test
