// experiment/run_dir.h — the layout of a training run's directory (RUN_DIR).
//
//   RUN_DIR/config.json                 the resolved configuration, written when training starts
//   RUN_DIR/metrics.jsonl               one JSON object per line, appended as training goes
//   RUN_DIR/checkpoints/epoch-0001.snck one checkpoint per epoch (checkpoint.h)
//   RUN_DIR/eval.json                   `scratchnet eval`: every checkpoint on the test split
//   RUN_DIR/train_samples.png           the 24-sample training grid
//   RUN_DIR/report.html                 the self-contained report (report.h)
//   RUN_DIR/.lock                       held (flock) by the one process using RUN_DIR (run_lock.h)
//
// Every file is written atomically or appended line by line, so an interrupted
// run leaves complete checkpoints and a readable metrics file behind.
#pragma once
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sn::train {

struct RunPaths {
  explicit RunPaths(std::string root_dir) : root(std::move(root_dir)) {}
  std::string root;
  std::string config() const { return root + "/config.json"; }
  std::string metrics() const { return root + "/metrics.jsonl"; }
  std::string checkpoints() const { return root + "/checkpoints"; }
  std::string checkpoint(int epoch) const;  // checkpoints/epoch-0001.snck
  std::string eval() const { return root + "/eval.json"; }
  std::string test_features() const { return root + "/test_features.bin"; }  // experiment/test_features.h
  std::string train_grid() const { return root + "/train_samples.png"; }
  std::string report() const { return root + "/report.html"; }
};

// mkdir -p; errors name the directory.
void make_dirs(const std::string& dir);
bool path_exists(const std::string& path);
bool is_directory(const std::string& path);

// The complete checkpoints of a run as (epoch, path), sorted by epoch.
// Temporary files of an interrupted write are not checkpoints and are skipped.
std::vector<std::pair<int, std::string>> list_checkpoints(const RunPaths& run);

// ---- metrics.jsonl -------------------------------------------------------------
// Appends one compact JSON object per line and flushes it, so another program
// (or a person with `tail -f`) sees each epoch as soon as it ends.
class MetricsWriter {
 public:
  MetricsWriter() = default;
  MetricsWriter(const std::string& path, bool append);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reads a JSON-lines file; a last line cut short by a crash is ignored.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// For --resume: keeps only the records of epochs <= `epoch` (rewritten atomically).
void truncate_metrics(const std::string& path, int epoch);

// Reads / writes a whole JSON document (written atomically, pretty-printed).
nlohmann::json read_json(const std::string& path);
void write_json(const std::string& path, const nlohmann::json& doc);

}  // namespace sn::train
