#include "data/image_labels.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan {

namespace {

void from_folders(const std::vector<std::string>& files, const std::string& root,
                  ImageLabels& out) {
  std::map<std::string, int64_t> index;
  for (const auto& f : files) {
    const auto slash = f.find('/');
    if (slash == std::string::npos) {
      throw DataError("data.labels=folders but image " + root + "/" + f +
                      " is not inside a class sub-folder");
    }
    index.emplace(f.substr(0, slash), 0);
  }
  int64_t k = 0;
  for (auto& kv : index) {  // std::map iterates sorted: label = rank of the folder name
    kv.second = k++;
    out.names.push_back(kv.first);
  }
  for (const auto& f : files) out.labels.push_back(index.at(f.substr(0, f.find('/'))));
}

void from_json(const std::vector<std::string>& files, const std::string& text,
               const std::string& json_source, ImageLabels& out) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DataError("invalid JSON in " + json_source + ": " + e.what());
  }
  if (!j.is_object() || !j.contains("labels") || j["labels"].is_null()) {
    return;  // dataset_tool writes "labels": null for unlabelled datasets
  }
  if (!j["labels"].is_array())
    throw DataError(json_source + ": \"labels\" must be a list of [path, label]");
  std::map<std::string, int64_t> by_path;
  for (const auto& entry : j["labels"]) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
        !entry[1].is_number_integer() || entry[1].get<int64_t>() < 0 ||
        entry[1].get<int64_t>() >= kMaxLabel) {
      // The bound keeps a label of 10^12 from creating 10^12 class names.
      throw DataError(json_source + ": each label must be [\"relative/path\", int in [0, " +
                      std::to_string(kMaxLabel) + ")], got " + entry.dump().substr(0, 200));
    }
    std::string p = entry[0].get<std::string>();
    std::replace(p.begin(), p.end(), '\\', '/');
    by_path[p] = entry[1].get<int64_t>();
  }
  int64_t max_label = -1;
  for (const auto& f : files) {
    auto it = by_path.find(f);
    if (it == by_path.end()) throw DataError(json_source + " has no label for image " + f);
    out.labels.push_back(it->second);
    max_label = std::max(max_label, it->second);
  }
  for (int64_t i = 0; i <= max_label; ++i) out.names.push_back(std::to_string(i));
}

}  // namespace

ImageLabels resolve_image_labels(const std::string& mode_in, const std::vector<std::string>& files,
                                 const std::optional<std::string>& json_text,
                                 const std::string& json_source, const std::string& root) {
  std::string mode = mode_in;
  if (mode == "auto") {
    if (json_text) {
      mode = "json";
    } else {
      const bool all_nested = std::all_of(files.begin(), files.end(), [](const std::string& f) {
        return f.find('/') != std::string::npos;
      });
      std::set<std::string> dirs;
      for (const auto& f : files) dirs.insert(f.substr(0, f.find('/')));
      mode = all_nested && dirs.size() > 1 ? "folders" : "none";
    }
  }
  ImageLabels out;
  out.mode = mode;
  if (mode == "folders") {
    from_folders(files, root, out);
  } else if (mode == "json") {
    if (!json_text) throw DataError("data.labels=json but " + json_source + " does not exist");
    from_json(files, *json_text, json_source, out);
  } else if (mode != "none") {
    throw ConfigError("data.labels: unknown value '" + mode +
                      "' (known: auto, folders, json, none)");
  }
  return out;
}

}  // namespace gan
