#include "tools/experiment/run_dir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::train {

std::string RunPaths::checkpoint(int epoch) const {
  char name[32];
  std::snprintf(name, sizeof name, "/epoch-%04d.snck", epoch);
  return checkpoints() + name;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& dir) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty() || is_directory(partial)) continue;
    SN_USER_CHECK(::mkdir(partial.c_str(), 0755) == 0 || errno == EEXIST, "cannot create directory ", partial, ": ",
                  std::strerror(errno));
  }
  SN_USER_CHECK(is_directory(dir), "cannot create directory ", dir, ": a file of that name is in the way");
}

std::vector<std::pair<int, std::string>> list_checkpoints(const RunPaths& run) {
  std::vector<std::pair<int, std::string>> out;
  DIR* d = ::opendir(run.checkpoints().c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    int epoch = 0, consumed = 0;
    const std::string name = e->d_name;
    // Exactly "epoch-NNNN.snck": "epoch-0003.snck.tmp.123" is an interrupted write.
    if (std::sscanf(name.c_str(), "epoch-%d.snck%n", &epoch, &consumed) == 1 &&
        consumed == static_cast<int>(name.size()) && epoch > 0)
      out.emplace_back(epoch, run.checkpoint(epoch));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

MetricsWriter::MetricsWriter(const std::string& path, bool append) : path_(path) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  SN_USER_CHECK(file_, "cannot open metrics file ", path, ": ", std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

void MetricsWriter::write(const nlohmann::json& record) {
  SN_CHECK(file_, "metrics file is not open");
  const std::string line = record.dump() + "\n";
  SN_USER_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0,
                "cannot write metrics file ", path_, ": ", std::strerror(errno));
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  SN_USER_CHECK(in.good(), "cannot read ", path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // Only the last line may be partial (a crash mid-append); anything else is corruption.
      SN_USER_CHECK(in.peek() == EOF, path, ": corrupt line in the middle of the file: ", line.substr(0, 80));
    }
  }
  return out;
}

void truncate_metrics(const std::string& path, int epoch) {
  if (!path_exists(path)) return;
  std::string kept;
  for (const auto& r : read_jsonl(path))
    if (r.value("epoch", 0) <= epoch) kept += r.dump() + "\n";
  io::write_file_atomic(path, kept);
}

nlohmann::json read_json(const std::string& path) {
  const auto bytes = io::read_file(path);
  try {
    return nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    SN_USER_FAIL(path, ": not valid JSON: ", e.what());
  }
}

void write_json(const std::string& path, const nlohmann::json& doc) { io::write_file_atomic(path, doc.dump(2) + "\n"); }

}  // namespace sn::train
