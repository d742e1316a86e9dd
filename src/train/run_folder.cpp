#include "src/train/run_folder.h"

#include <filesystem>

#include "src/core/errors.h"

namespace gan {

namespace fs = std::filesystem;

std::string resume_run_dir(const std::string& checkpoint) {
  // Judged on the absolute path: "checkpoints/x.pt" given inside a run folder names that folder.
  const fs::path file = fs::absolute(checkpoint).lexically_normal();
  const fs::path dir = file.parent_path();
  if (dir.filename() != "checkpoints" || dir.parent_path().empty() ||
      dir.parent_path() == dir.root_path()) {
    throw UsageError("--resume " + checkpoint +
                     ": a checkpoint to resume must lie in a run folder, as "
                     "<run>/checkpoints/<file>.pt; the run continues there (config.yaml, log.txt, "
                     "stats.jsonl, checkpoints/). To continue from a copied checkpoint, put it "
                     "into a run folder first (mkdir -p runs/00000-mine/checkpoints && cp " +
                     checkpoint + " runs/00000-mine/checkpoints/)");
  }
  // Keep the user's spelling (relative paths in messages) when it names the folder itself.
  const fs::path given = fs::path(checkpoint).lexically_normal().parent_path().parent_path();
  return given.empty() ? dir.parent_path().string() : given.string();
}

}  // namespace gan
