// `gan serve` over HTTP: a server on a free loopback port answers the JSON endpoints from real
// run folders, serves their files and nothing outside them, generates the images `gan generate`
// writes, refuses bad parameters with 400, bounds generation, stays read-only, and serves
// several clients at once.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cli_helpers.h"
#include "serve_test_util.h"
#include "src/serve/explorer.h"
#include "src/serve/run_files.h"
#include "src/train/run_lock.h"

namespace fs = std::filesystem;
using serve_test::decode_png;
using serve_test::runs;
using serve_test::TestServer;

namespace {

httplib::Client client(const TestServer& s) {
  httplib::Client c(s.url());
  c.set_url_encode(false);  // paths go out exactly as written (encoded variants included)
  c.set_read_timeout(60, 0);
  return c;
}

nlohmann::json get_json(httplib::Client& c, const std::string& path, int status = 200) {
  auto r = c.Get(path.c_str());
  REQUIRE(r);
  INFO(path << " -> " << r->status << " " << r->body);
  REQUIRE(r->status == status);
  REQUIRE(r->get_header_value("Content-Type") == "application/json");
  return nlohmann::json::parse(r->body);
}

cv::Mat get_png(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path.c_str());
  REQUIRE(r);
  INFO(path << " -> " << r->status << " " << r->body.substr(0, 300));
  REQUIRE(r->status == 200);
  REQUIRE(r->get_header_value("Content-Type") == "image/png");
  cv::Mat m = decode_png(r->body);
  REQUIRE(!m.empty());
  return m;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(serve_test::slurp(path));
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// `gan generate` into a fresh folder; returns the folder.
fs::path generate(const std::string& ckpt, std::vector<std::string> extra) {
  static int n = 0;
  const fs::path out = fs::path(runs().root).parent_path() / ("gen" + std::to_string(n++));
  std::vector<std::string> args = {"generate",   "--checkpoint", ckpt, "--outdir",
                                   out.string(), "--device",     "cpu"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = test_cli::run(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return out;
}

cv::Mat read(const fs::path& p) {
  return cv::imread(p.string(), cv::IMREAD_UNCHANGED);
}

// Sizes and modification times of every file under a folder.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && !e.is_symlink()) {
      out[e.path().string()] = std::to_string(e.file_size()) + "@" +
                               std::to_string(e.last_write_time().time_since_epoch().count());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the JSON endpoints describe the runs from their files", "[serve][server]") {
  TestServer s;
  auto c = client(s);
  const auto list = get_json(c, "/api/runs");
  REQUIRE(list["runs"].size() == 2);
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& r : list["runs"]) by_id[r["id"]] = r;
  REQUIRE(by_id.count("uncond"));
  REQUIRE(by_id.count("cond"));
  const auto& u = by_id["uncond"];
  const auto last = nlohmann::json::parse(lines_of(runs().uncond + "/stats.jsonl").back());
  CHECK(u["state"] == "finished");  // reached train.steps and nobody holds the lock
  CHECK(u["step"] == last["step"]);
  CHECK(u["kimg"].get<double>() == last["kimg"].get<double>());
  CHECK(u["target_steps"] == 8);
  CHECK(u["progress"].get<double>() == 1.0);
  CHECK(!u.contains("eta_s"));

  // Stats: every row of stats.jsonl, then nothing new from where the last read ended.
  const auto stats = get_json(c, "/api/runs/uncond/stats");
  const auto rows = lines_of(runs().uncond + "/stats.jsonl");
  REQUIRE(stats["rows"].size() == rows.size());
  CHECK(stats["rows"][0] == nlohmann::json::parse(rows[0]));
  CHECK(stats["next"].get<uint64_t>() == fs::file_size(runs().uncond + "/stats.jsonl"));
  const auto more = get_json(c, "/api/runs/uncond/stats?from=" + stats["next"].dump());
  CHECK(more["rows"].empty());
  CHECK(more["reset"] == false);

  // Metrics: the rows, and the best FID (lower is better) among the values written above.
  const auto metrics = get_json(c, "/api/runs/uncond/metrics");
  REQUIRE(metrics.contains("fid"));
  CHECK(metrics["fid"]["rows"].size() == 3);
  CHECK(metrics["fid"]["direction"] == "lower");
  CHECK(metrics["fid"]["headline"] == "fid");
  CHECK(metrics["fid"]["best"]["value"].get<double>() == 30.0);
  CHECK(metrics["fid"]["best"]["kimg"].get<double>() == 0.064);
  CHECK(get_json(c, "/api/runs/cond/metrics").empty());

  // Samples: reals.png and the grids by kimg, fakes_init first.
  const auto samples = get_json(c, "/api/runs/uncond/samples");
  CHECK(samples["reals"]["file"] == "reals.png");
  REQUIRE(samples["grids"].size() == 3);
  CHECK(samples["grids"][0]["file"] == "fakes_init.png");
  CHECK(samples["grids"][1]["file"] == "fakes000000.png");
  CHECK(samples["grids"][2]["file"] == "fakes000001.png");
  CHECK(samples["grids"][2]["kimg"].get<double>() == 1.0);

  // Config and log text.
  CHECK(get_json(c, "/api/runs/uncond/config")["text"] ==
        serve_test::slurp(runs().uncond + "/config.yaml"));
  const auto log = lines_of(runs().uncond + "/log.txt");
  REQUIRE(log.size() >= 3);
  CHECK(get_json(c, "/api/runs/uncond/log?lines=2")["text"] ==
        log[log.size() - 2] + "\n" + log.back() + "\n");

  // Checkpoints, of the runs and the one given on the command line.
  const auto ckpts = get_json(c, "/api/checkpoints")["checkpoints"];
  std::set<std::string> ids;
  for (const auto& k : ckpts) ids.insert(k["id"]);
  CHECK(ids.count("given"));
  CHECK(ids.count("uncond/" + fs::path(runs().uncond_ckpt).filename().string()));
  CHECK(ids.count("cond/" + fs::path(runs().cond_ckpt).filename().string()));

  // The page itself.
  auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK_THAT(page->body, Catch::Contains("<svg") || Catch::Contains("createElementNS"));
  CHECK(page->body.find("http://") == page->body.find("http://www.w3.org/2000/svg"));  // no CDN
}

TEST_CASE("a run held by gan train shows as running with an ETA", "[serve][server]") {
  TestServer s;
  auto c = client(s);
  {
    gan::RunLock lock(runs().cond);  // what a running `gan train` holds
    CHECK(gan::serve::run_lock_held(runs().cond));
    for (const auto& r : get_json(c, "/api/runs")["runs"]) {
      if (r["id"] != "cond") continue;
      CHECK(r["state"] == "running");
      REQUIRE(r.contains("eta_s"));
      CHECK(r["eta_s"].get<double>() == 0.0);  // at its last step: nothing left
    }
  }
  CHECK(!gan::serve::run_lock_held(runs().cond));
  for (const auto& r : get_json(c, "/api/runs")["runs"]) {
    if (r["id"] == "cond") CHECK(r["state"] == "finished");
  }
}

TEST_CASE("stats are read in complete lines, and a trimmed file starts over", "[serve][server]") {
  const fs::path f = fs::path(train_test::fresh_dir("serve", "jsonl")) / "stats.jsonl";
  std::ofstream(f) << "{\"step\":1}\n{\"step\":2}\n{\"ste";
  auto a = gan::serve::read_jsonl(f, 0);
  REQUIRE(a["rows"].size() == 2);
  const uint64_t next = a["next"];
  CHECK(next == std::string("{\"step\":1}\n{\"step\":2}\n").size());
  std::ofstream(f, std::ios::app) << "p\":3}\nnot json\n";
  auto b = gan::serve::read_jsonl(f, next);
  REQUIRE(b["rows"].size() == 1);  // the unreadable line is skipped
  CHECK(b["rows"][0]["step"] == 3);
  std::ofstream(f) << "{\"step\":1}\n";  // a resume trimmed it
  auto c = gan::serve::read_jsonl(f, b["next"]);
  CHECK(c["reset"] == true);
  CHECK(c["rows"].size() == 1);
  CHECK(gan::serve::tail_lines(f, 5) == "{\"step\":1}\n");
}

TEST_CASE("files are served from inside the run folders only", "[serve][server][safety]") {
  TestServer s;
  auto c = client(s);
  const cv::Mat reals = get_png(c, "/files/uncond/reals.png");
  CHECK(reals.cols == 4 * 16);  // grid_size x resolution of the tiny config
  CHECK(reals.rows == 4 * 16);
  CHECK(same(reals, read(runs().uncond + "/reals.png")));
  auto in_link = c.Get("/files/uncond/link-in.yaml");  // a symlink that stays inside
  REQUIRE(in_link);
  CHECK(in_link->status == 200);

  const std::string secret = fs::path(runs().secret).filename().string();
  const std::string abs_secret = runs().secret;
  const char* ckpt_file = "checkpoints/ckpt-00000008.pt";
  REQUIRE(fs::exists(runs().uncond + "/" + ckpt_file));
  const std::vector<std::string> refused = {
      "/files/uncond/../" + secret,
      "/files/uncond/../../" + secret,
      "/files/uncond/%2e%2e/" + secret,
      "/files/uncond/%2E%2E/" + secret,
      "/files/uncond/..%2f" + secret,
      "/files/uncond/..%2F..%2Fsecret.txt",
      "/files/uncond/%252e%252e/" + secret,
      "/files/uncond/" + abs_secret,  // //tmp/... : an absolute path after the run id
      "/files/uncond/%2f" + abs_secret.substr(1),
      "/files/uncond/./reals.png",
      "/files/uncond/link-out.txt",               // a symlink out of the folder
      "/files/uncond/" + std::string(ckpt_file),  // inside, but checkpoints are not served
      "/files/uncond/.lock",
      "/files/uncond/missing.png",
      "/files/uncond/checkpoints",
      "/files/nope/reals.png",
      "/files/../uncond/reals.png",
      "/files/%2e%2e/runs/uncond/reals.png",
      "/files/uncond%2f..%2fcond/reals.png",
      "/api/runs/nope/stats",
      "/api/runs/../stats",
      "/api/runs/%2e%2e/stats",
      "/nope",
  };
  for (const auto& path : refused) {
    auto r = c.Get(path.c_str());
    REQUIRE(r);
    INFO(path << " -> " << r->status << " " << r->body);
    CHECK(r->status == 404);
    CHECK(r->body.find("not for the browser") == std::string::npos);
  }
  CHECK(!gan::serve::resolve_inside(runs().uncond, "../secret.txt"));
  CHECK(!gan::serve::resolve_inside(runs().uncond, abs_secret));
  CHECK(!gan::serve::resolve_inside(runs().uncond, "link-out.txt"));
  CHECK(!gan::serve::resolve_inside(runs().uncond, "sub/../reals.png"));
  CHECK(gan::serve::resolve_inside(runs().uncond, "reals.png"));
}

TEST_CASE("explorer images are the images gan generate writes", "[serve][server][explorer]") {
  TestServer s;
  auto c = client(s);
  const std::string u = "uncond/" + fs::path(runs().uncond_ckpt).filename().string();
  const std::string k = "cond/" + fs::path(runs().cond_ckpt).filename().string();
  const auto info = get_json(c, "/api/explorer/info?ckpt=" + u);
  CHECK(info["resolution"] == 16);
  CHECK(info["z_dim"] == 16);
  CHECK(info["conditional"] == false);
  const auto cinfo = get_json(c, "/api/explorer/info?ckpt=" + k);
  CHECK(cinfo["conditional"] == true);
  const int classes = cinfo["num_classes"];
  REQUIRE(classes >= 2);

  const fs::path gen = generate(runs().uncond_ckpt, {"--seeds", "0-5,3,7"});
  const cv::Mat seed3 = get_png(c, "/api/explorer/image?ckpt=" + u + "&seeds=3");
  CHECK(same(seed3, read(gen / "seed0003.png")));
  CHECK(same(get_png(c, "/api/explorer/image?ckpt=given&seeds=3"), seed3));
  // A grid: seeds in row-major order.
  const cv::Mat grid = get_png(c, "/api/explorer/image?ckpt=" + u + "&seeds=0-5&cols=3");
  REQUIRE(grid.cols == 48);
  REQUIRE(grid.rows == 32);
  for (int i = 0; i < 6; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "seed%04d.png", i);
    CHECK(same(grid(cv::Rect((i % 3) * 16, (i / 3) * 16, 16, 16)), read(gen / name)));
  }
  // Interpolation: the strip's ends are the seeds' own images, as in generate --interp.
  const cv::Mat strip =
      get_png(c, "/api/explorer/image?ckpt=" + u + "&seeds=3,7&interp=slerp&steps=5&cols=5");
  REQUIRE(strip.cols == 80);
  REQUIRE(strip.rows == 16);
  CHECK(same(strip(cv::Rect(0, 0, 16, 16)), seed3));
  CHECK(same(strip(cv::Rect(64, 0, 16, 16)), read(gen / "seed0007.png")));
  const fs::path gen_interp =
      generate(runs().uncond_ckpt, {"--seeds", "3,7", "--interp", "slerp", "--steps", "5"});
  CHECK(same(strip, read(gen_interp / "interp.png")));
  // Truncation: as generate --trunc.
  const fs::path gen_trunc =
      generate(runs().uncond_ckpt, {"--seeds", "3", "--trunc", "0.5", "--trunc-mode", "clamp"});
  const cv::Mat trunc =
      get_png(c, "/api/explorer/image?ckpt=" + u + "&seeds=3&trunc=0.5&trunc_mode=clamp");
  CHECK(same(trunc, read(gen_trunc / "seed0003.png")));
  CHECK(!same(trunc, seed3));
  // Classes of a conditional model: default seed mod classes, or the one asked for.
  const fs::path gen_c1 = generate(runs().cond_ckpt, {"--seeds", "4", "--class", "1"});
  const fs::path gen_cd = generate(runs().cond_ckpt, {"--seeds", "4"});
  CHECK(same(get_png(c, "/api/explorer/image?ckpt=" + k + "&seeds=4&class=1"),
             read(gen_c1 / "seed0004.png")));
  CHECK(same(get_png(c, "/api/explorer/image?ckpt=" + k + "&seeds=4"),
             read(gen_cd / "seed0004.png")));
  // G instead of G_ema.
  const fs::path gen_g = generate(runs().uncond_ckpt, {"--seeds", "3", "--no-ema"});
  CHECK(same(get_png(c, "/api/explorer/image?ckpt=" + u + "&seeds=3&net=g"),
             read(gen_g / "seed0003.png")));
  // A download is the same PNG, named as an attachment.
  auto dl = c.Get(("/api/explorer/image?ckpt=" + u + "&seeds=3&download=1").c_str());
  REQUIRE(dl);
  CHECK(dl->status == 200);
  CHECK(dl->get_header_value("Content-Disposition") == "attachment; filename=\"seeds-3.png\"");
  CHECK(same(decode_png(dl->body), seed3));
  // Explorer PNGs carry gan generate's provenance: gan verify regenerates them bit for bit
  // (a single seed, a grid with a class, an interpolation strip).
  const fs::path saved = fs::path(runs().root).parent_path() / "explorer-downloads";
  fs::create_directories(saved);
  const std::vector<std::pair<std::string, std::string>> shown = {
      {"seed3.png", "/api/explorer/image?ckpt=" + u + "&seeds=3&download=1"},
      {"grid.png", "/api/explorer/image?ckpt=" + k + "&seeds=1,2,5&class=1&cols=2"},
      {"strip.png", "/api/explorer/image?ckpt=" + u + "&seeds=3,7&interp=lerp&steps=4"}};
  std::vector<std::string> verify = {"verify"};
  for (const auto& [name, url] : shown) {
    auto r = c.Get(url.c_str());
    REQUIRE(r);
    REQUIRE(r->status == 200);
    std::ofstream((saved / name).string(), std::ios::binary) << r->body;
    verify.push_back((saved / name).string());
  }
  const auto checked = test_cli::run(verify);
  INFO(checked.out << checked.err);
  CHECK(checked.code == 0);
  CHECK(checked.out.find("bit-identical") != std::string::npos);
}

TEST_CASE("every bad explorer or API parameter gets 400 naming it", "[serve][server][safety]") {
  TestServer s;
  auto c = client(s);
  const std::string u = "ckpt=uncond/" + fs::path(runs().uncond_ckpt).filename().string();
  const std::string k = "ckpt=cond/" + fs::path(runs().cond_ckpt).filename().string();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/api/explorer/image?" + u + "&seeds=-1", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=4294967296", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=99999999999999999999", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=abc", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=5-2", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=0-64", "seeds"},  // 65 images
      {"/api/explorer/image?" + u + "&seeds=0-40,0-40", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=1&cols=0", "cols"},
      {"/api/explorer/image?" + u + "&seeds=1&cols=65", "cols"},
      {"/api/explorer/image?" + u + "&seeds=1&trunc=nan", "trunc"},
      {"/api/explorer/image?" + u + "&seeds=1&trunc=inf", "trunc"},
      {"/api/explorer/image?" + u + "&seeds=1&trunc=-1", "trunc"},
      {"/api/explorer/image?" + u + "&seeds=1&trunc=0.5x", "trunc"},
      {"/api/explorer/image?" + u + "&seeds=1&trunc_mode=wrap", "trunc_mode"},
      {"/api/explorer/image?" + u + "&seeds=1&net=d", "net"},
      {"/api/explorer/image?" + u + "&seeds=1&interp=cubic", "interp"},
      {"/api/explorer/image?" + u + "&seeds=1&interp=lerp", "interp"},
      {"/api/explorer/image?" + u + "&seeds=1,2,3&interp=lerp", "interp"},
      {"/api/explorer/image?" + u + "&seeds=1,2&interp=lerp&steps=1", "steps"},
      {"/api/explorer/image?" + u + "&seeds=1,2&interp=lerp&steps=65", "steps"},
      {"/api/explorer/image?" + u + "&seeds=1&steps=4", "steps"},
      {"/api/explorer/image?" + u + "&seeds=1&class=1", "class"},  // unconditional
      {"/api/explorer/image?" + k + "&seeds=1&class=99", "class"},
      {"/api/explorer/image?" + k + "&seeds=1&class=-1", "class"},
      {"/api/explorer/image?" + k + "&seeds=1&class=x", "class"},
      {"/api/explorer/image?" + u + "&seeds=1&seeds=2", "seeds"},
      {"/api/explorer/image?" + u + "&seeds=1&bogus=1", "bogus"},
      {"/api/explorer/image?seeds=1", "ckpt"},
      {"/api/explorer/info?" + u + "&net=x", "net"},
      {"/api/explorer/info?" + u + "&seeds=1", "seeds"},
      {"/api/runs/uncond/stats?from=-1", "from"},
      {"/api/runs/uncond/stats?from=x", "from"},
      {"/api/runs/uncond/log?lines=0", "lines"},
      {"/api/runs/uncond/log?lines=1001", "lines"},
      {"/api/runs/uncond/metrics?x=1", "x"},
  };
  for (const auto& [path, name] : bad) {
    const auto j = get_json(c, path, 400);
    INFO(path);
    CHECK_THAT(j["error"].get<std::string>(), Catch::Contains(name));
  }
  // Checkpoints outside the runs' checkpoints/ folders do not exist for the server.
  for (const std::string& ckpt : std::vector<std::string>{
           "nope/x.pt", "uncond/../../cond/checkpoints/x.pt", "uncond/%2e%2e/config.yaml",
           "uncond/" + runs().uncond_ckpt, "uncond", "cond/best.pt"}) {
    INFO(ckpt);
    get_json(c, "/api/explorer/image?seeds=1&ckpt=" + ckpt, 404);
  }
}

TEST_CASE("generation is bounded: a full queue and a passed deadline are refused",
          "[serve][server][explorer]") {
  using Clock = std::chrono::steady_clock;
  gan::serve::JobLimiter limiter(1, 1);
  auto held = std::make_unique<gan::serve::JobLimiter::Slot>(limiter.acquire(Clock::now()));
  CHECK(limiter.running() == 1);
  // One may wait; it gets the slot once the holder is done.
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto slot = limiter.acquire(Clock::now() + std::chrono::minutes(5));
    got = true;
  });
  while (limiter.waiting() != 1) std::this_thread::yield();
  // A third finds the queue full: 503 at once.
  try {
    limiter.acquire(Clock::now() + std::chrono::minutes(5));
    FAIL("no error");
  } catch (const gan::serve::RequestError& e) {
    CHECK(e.status == 503);
    CHECK_THAT(e.what(), Catch::Contains("queue is full"));
  }
  held.reset();
  waiter.join();
  CHECK(got);
  CHECK(limiter.running() == 0);
  // A waiter whose deadline passes gives up with 503.
  auto again = limiter.acquire(Clock::now());
  try {
    limiter.acquire(Clock::now() + std::chrono::milliseconds(1));
    FAIL("no error");
  } catch (const gan::serve::RequestError& e) {
    CHECK(e.status == 503);
    CHECK_THAT(e.what(), Catch::Contains("deadline"));
  }
  CHECK(limiter.waiting() == 0);

  // Over HTTP: a request past its deadline gets 504 with a message, the server stays usable.
  gan::serve::ExplorerOptions tight;
  tight.timeout_s = 1e-9;
  TestServer s(tight);
  auto c = client(s);
  const auto j = get_json(c, "/api/explorer/image?ckpt=given&seeds=0-3", 504);
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("limit"));
  get_json(c, "/api/runs");
}

TEST_CASE("the server is read-only and serves concurrent clients", "[serve][server]") {
  const auto before = snapshot(runs().root);
  TestServer s;
  const std::string u = "uncond/" + fs::path(runs().uncond_ckpt).filename().string();
  {
    auto c = client(s);
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
      httplib::Request req;
      req.method = method;
      req.path = "/files/uncond/reals.png";
      auto r = c.send(req);
      REQUIRE(r);
      INFO(method << " -> " << r->status);
      CHECK(r->status >= 400);
    }
  }
  // Reference images, one request at a time.
  std::vector<cv::Mat> expected;
  {
    auto c = client(s);
    for (int seed = 0; seed < 4; ++seed) {
      expected.push_back(
          get_png(c, "/api/explorer/image?ckpt=" + u + "&seeds=" + std::to_string(seed)));
    }
  }
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c(s.url());
      c.set_read_timeout(60, 0);
      for (int i = 0; i < 4; ++i) {
        const int seed = (t + i) % 4;
        auto img =
            c.Get(("/api/explorer/image?ckpt=" + u + "&seeds=" + std::to_string(seed)).c_str());
        auto runs_list = c.Get("/api/runs");
        auto stats = c.Get("/api/runs/uncond/stats");
        auto file = c.Get("/files/cond/reals.png");
        const bool good = img && img->status == 200 && runs_list && runs_list->status == 200 &&
                          stats && stats->status == 200 && file && file->status == 200 &&
                          same(decode_png(img->body), expected[size_t(seed)]);
        (good ? ok : failed)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(ok == 24);
  CHECK(snapshot(runs().root) == before);  // nothing written, nothing touched
}

TEST_CASE("serve refuses a bad setup with a usage error", "[serve][server]") {
  gan::serve::ServeOptions o;
  CHECK_THROWS_WITH(gan::serve::Server(o), Catch::Contains("run folder"));
  o.run_dir = runs().root;  // a folder of runs, not a run
  CHECK_THROWS_WITH(gan::serve::Server(o), Catch::Contains("not a run folder"));
  o.run_dir.clear();
  o.runs_root = runs().root + "/nope";
  CHECK_THROWS_WITH(gan::serve::Server(o), Catch::Contains("no such folder"));
  o.runs_root = runs().root;
  o.checkpoint = runs().root + "/nope.pt";
  CHECK_THROWS_WITH(gan::serve::Server(o), Catch::Contains("nope.pt"));
  // One run folder alone.
  gan::serve::ServeOptions one;
  one.run_dir = runs().cond;
  one.port = 0;
  gan::serve::Server server(one);
  const int port = server.start();
  httplib::Client c("http://127.0.0.1:" + std::to_string(port));
  auto r = c.Get("/api/runs");
  REQUIRE(r);
  const auto j = nlohmann::json::parse(r->body);
  REQUIRE(j["runs"].size() == 1);
  CHECK(j["runs"][0]["id"] == "cond");
}
