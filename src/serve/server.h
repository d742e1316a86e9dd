// `gan serve`: an HTTP server (cpp-httplib, kept out of this header) with one page, a JSON API
// over run folders, their files, and explorer images. Read-only; see docs/serve.md.
#pragma once

#include <memory>
#include <string>

#include "src/serve/explorer.h"

namespace gan::serve {

struct ServeOptions {
  std::string run_dir;     // one run folder, or
  std::string runs_root;   // a folder of run folders
  std::string checkpoint;  // an extra checkpoint file for the explorer (may be elsewhere)
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  ExplorerOptions explorer;
};

class Server {
 public:
  // Checks the folders and files (UsageError naming what is wrong); binds nothing yet.
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the socket; returns the port (the chosen one for port 0). Throws naming host:port.
  int bind();
  // Serves until stop() (from another thread or a signal handler's thread).
  void run();
  // bind() + run() on a background thread; returns the port.
  int start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gan::serve
