#include "src/serve/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "src/core/errors.h"
#include "src/serve/page.h"
#include "src/serve/run_files.h"

namespace gan::serve {
namespace fs = std::filesystem;

namespace {

void send_json(httplib::Response& res, const nlohmann::json& j, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, {{"error", message}, {"status", status}}, status);
}

// Query parameters, each at most once.
std::map<std::string, std::string> single_params(const httplib::Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : req.params) {
    if (!out.emplace(key, value).second) throw RequestError(400, key + ": given more than once");
  }
  return out;
}

const char* content_type(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".json" || ext == ".jsonl") return "application/json";
  if (ext == ".yaml" || ext == ".txt") return "text/plain; charset=utf-8";
  return nullptr;  // not served (checkpoints, lock files, ...)
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

struct Server::Impl {
  ServeOptions options;
  RunSet runs;
  Explorer explorer;
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> listen_ended{false};
  int port = -1;

  explicit Impl(ServeOptions o)
      : options(std::move(o)),
        runs(options.run_dir.empty() ? RunSet::under(options.runs_root)
                                     : RunSet::single(options.run_dir)),
        explorer(options.explorer) {}

  RunFolder run_or_404(const std::string& id) {
    auto run = runs.find(id);
    if (!run) throw RequestError(404, "no run '" + id + "'");
    return *run;
  }

  // "given" (--checkpoint) or "<run>/<file>" of a run's checkpoints/ folder.
  std::string checkpoint_path(const std::string& id) {
    if (id.empty()) throw RequestError(400, "ckpt: missing (see /api/checkpoints)");
    if (id == "given") {
      if (options.checkpoint.empty()) throw RequestError(404, "no --checkpoint was given");
      return options.checkpoint;
    }
    const size_t slash = id.find('/');
    if (slash == std::string::npos) throw RequestError(404, "no checkpoint '" + id + "'");
    const RunFolder run = run_or_404(id.substr(0, slash));
    const std::string file = id.substr(slash + 1);
    auto path = resolve_inside(run.dir / "checkpoints", file);
    if (!path || path->extension() != ".pt") {
      throw RequestError(404, "no checkpoint '" + id + "'");
    }
    return path->string();
  }

  nlohmann::json checkpoints() {
    nlohmann::json out = nlohmann::json::array();
    if (!options.checkpoint.empty()) {
      out.push_back({{"id", "given"}, {"run", nullptr}, {"file", options.checkpoint}});
    }
    for (const auto& run : runs.list()) {
      for (const auto& c : run_checkpoints(run)) {
        out.push_back({{"id", run.id + "/" + c["file"].get<std::string>()},
                       {"run", run.id},
                       {"file", c["file"]},
                       {"step", c["step"]}});
      }
    }
    return out;
  }

  // Wraps a handler: RequestError -> its status, anything else -> 500, both as JSON.
  template <typename F>
  httplib::Server::Handler guarded(F f) {
    return [f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const RequestError& e) {
        send_error(res, e.status, e.what());
      } catch (const std::exception& e) {
        spdlog::warn("{} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, e.what());
      }
    };
  }

  void routes() {
    // Browsers keep up to six connections open per page; room for them and for API clients.
    http.new_task_queue = [] { return new httplib::ThreadPool(16); };
    http.Get("/", guarded([](const httplib::Request&, httplib::Response& res) {
               res.set_header("Cache-Control", "no-store");
               res.set_content(page_html(), "text/html; charset=utf-8");
             }));
    http.Get("/api/runs", guarded([this](const httplib::Request&, httplib::Response& res) {
               nlohmann::json list = nlohmann::json::array();
               for (const auto& run : runs.list()) list.push_back(run_summary(run));
               send_json(res, {{"runs", list}, {"checkpoint", options.checkpoint}});
             }));
    http.Get(R"(/api/runs/([^/]+)/(stats|metrics|samples|config|log|checkpoints))",
             guarded([this](const httplib::Request& req, httplib::Response& res) {
               const auto params = single_params(req);
               const RunFolder run = run_or_404(req.matches[1]);
               const std::string what = req.matches[2];
               auto number = [&](const char* key, int64_t fallback, int64_t lo, int64_t hi) {
                 auto it = params.find(key);
                 if (it == params.end()) return fallback;
                 const std::string& t = it->second;
                 if (t.empty() || t.size() > 18 ||
                     t.find_first_not_of("0123456789") != std::string::npos || std::stoll(t) < lo ||
                     std::stoll(t) > hi) {
                   throw RequestError(400, std::string(key) + ": '" + t +
                                               "' is not a whole number in [" + std::to_string(lo) +
                                               ", " + std::to_string(hi) + "]");
                 }
                 return int64_t(std::stoll(t));
               };
               for (const auto& [key, value] : params) {
                 if (!((what == "stats" && key == "from") || (what == "log" && key == "lines"))) {
                   throw RequestError(400, "unknown parameter '" + key + "'");
                 }
               }
               if (what == "stats") {
                 send_json(res, read_jsonl(run.dir / "stats.jsonl",
                                           uint64_t(number("from", 0, 0, int64_t(1) << 50))));
               } else if (what == "metrics") {
                 send_json(res, metric_histories(run));
               } else if (what == "samples") {
                 send_json(res, sample_grids(run));
               } else if (what == "config") {
                 send_json(res, {{"text", tail_lines(run.dir / "config.yaml", 100000)}});
               } else if (what == "log") {
                 send_json(res, {{"text", tail_lines(run.dir / "log.txt",
                                                     int(number("lines", 40, 1, 1000)))}});
               } else {
                 send_json(res, run_checkpoints(run));
               }
             }));
    http.Get("/api/checkpoints", guarded([this](const httplib::Request&, httplib::Response& res) {
               send_json(res, {{"checkpoints", checkpoints()}});
             }));
    http.Get(
        "/api/explorer/info", guarded([this](const httplib::Request& req, httplib::Response& res) {
          const auto params = single_params(req);
          for (const auto& [key, value] : params) {
            if (key != "ckpt" && key != "net") {
              throw RequestError(400, "unknown parameter '" + key + "'");
            }
          }
          const std::string net = params.count("net") ? params.at("net") : "ema";
          if (net != "ema" && net != "g") {
            throw RequestError(400, "net: must be ema or g, got '" + net + "'");
          }
          const std::string ckpt = checkpoint_path(params.count("ckpt") ? params.at("ckpt") : "");
          send_json(res, explorer.info(ckpt, net == "ema"));
        }));
    http.Get(
        "/api/explorer/image", guarded([this](const httplib::Request& req, httplib::Response& res) {
          const auto start = std::chrono::steady_clock::now();
          const auto params = single_params(req);
          const ExplorerRequest request = parse_explorer_request(params);
          const std::string ckpt = checkpoint_path(params.count("ckpt") ? params.at("ckpt") : "");
          const std::string png = explorer.render(ckpt, request, start);
          res.set_header("Cache-Control", "no-store");
          if (params.count("download")) {
            std::string name = request.interp.empty() ? "seeds" : "interp";
            name += "-" + std::to_string(request.seeds.front());
            if (request.seeds.size() > 1) name += "-" + std::to_string(request.seeds.back());
            res.set_header("Content-Disposition", "attachment; filename=\"" + name + ".png\"");
          }
          res.set_content(png, "image/png");
        }));
    // A run folder's files (images, config, logs): only inside the folder, never a checkpoint.
    http.Get(R"(/files/([^/]+)/(.+))",
             guarded([this](const httplib::Request& req, httplib::Response& res) {
               const RunFolder run = run_or_404(req.matches[1]);
               const std::string rel = req.matches[2];
               auto path = resolve_inside(run.dir, rel);
               const char* type = path ? content_type(*path) : nullptr;
               if (!type) throw RequestError(404, "no file '" + rel + "' in run " + run.id);
               res.set_header("Cache-Control", "no-cache");
               res.set_content(read_file(*path), type);
             }));
    // Unknown paths and methods (the server is read-only: only GET routes exist) get JSON.
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                   httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, res.status, res.status == 404 ? "not found: " + req.path : "request refused");
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
    });
  }
};

Server::Server(ServeOptions options) {
  if (options.run_dir.empty() == options.runs_root.empty() && options.checkpoint.empty()) {
    throw UsageError("give a run folder (RUN_DIR) or --runs FOLDER, or --checkpoint FILE");
  }
  if (!options.run_dir.empty() && !options.runs_root.empty()) {
    throw UsageError("give either a run folder or --runs, not both");
  }
  std::error_code ec;
  if (!options.run_dir.empty() && !looks_like_run(options.run_dir)) {
    throw UsageError(options.run_dir +
                     ": not a run folder (no config.yaml, stats.jsonl or checkpoints/ in it)");
  }
  if (!options.runs_root.empty() && !fs::is_directory(options.runs_root, ec)) {
    throw UsageError("--runs " + options.runs_root + ": no such folder");
  }
  if (!options.checkpoint.empty() && !fs::is_regular_file(options.checkpoint, ec)) {
    throw UsageError("--checkpoint " + options.checkpoint + ": no such file");
  }
  if (options.port < 0 || options.port > 65535) throw UsageError("--port must be in [0, 65535]");
  impl_ = std::make_unique<Impl>(std::move(options));
  impl_->routes();
}

Server::~Server() {
  stop();
}

int Server::bind() {
  auto& o = impl_->options;
  impl_->http.set_keep_alive_max_count(100);
  impl_->http.set_read_timeout(10, 0);
  impl_->http.set_write_timeout(30, 0);
  impl_->http.set_payload_max_length(1 << 16);  // GET only: nothing large ever comes in
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port <= 0) {
    throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                             " (in use, or not an address of this machine)");
  }
  return impl_->port;
}

void Server::run() {
  impl_->http.listen_after_bind();
}

int Server::start() {
  const int port = bind();
  impl_->thread = std::thread([this] {
    run();
    impl_->listen_ended = true;
  });
  // stop() only ends a listen loop that has begun.
  while (!impl_->http.is_running() && !impl_->listen_ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->listen_ended) {
    throw std::runtime_error("the server on port " + std::to_string(port) + " stopped at once");
  }
  return port;
}

void Server::stop() {
  if (!impl_) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace gan::serve
