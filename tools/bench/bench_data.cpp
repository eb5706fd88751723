// bench_data — the image pipeline against PIL/torchvision on the same machine, in one run.
//
// Work per image, both sides: read + decode, Resize((256, 256)),
// RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, over every image
// of the training set (385). Rounds interleave:
//   scratchnet single-threaded (a plain loop over the images),
//   scratchnet DataLoader with T worker threads for each T in --threads (batches of 32, no cache),
//   PIL via tools/bench/bench_data_pil.py (one untimed + one timed pass, torch single-threaded),
// so background load hits both sides alike; ratios are of medians. Also
// reported: a cached epoch (the decoded and resized images reused).
// Output: a table on stderr and JSON on stdout (or --json FILE).
//
//   build/release/bench_data [--data DIR] [--rounds 5] [--threads 1,2] [--json out.json] [--no-pil]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data/decode.h"
#include "engine/data/folder.h"
#include "engine/data/loader.h"
#include "engine/data/transforms.h"

using namespace sn::data;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Compose bench_transform() {
  return Compose({std::make_shared<Resize>(256, 256), std::make_shared<RandomResizedCrop>(224),
                  std::make_shared<RandomHorizontalFlip>(), std::make_shared<ToTensor>()});
}

// One pass in the calling thread: what a single PIL process does.
double pass_single(const ImageFolder& data, const Compose& tf, uint64_t seed) {
  const auto t0 = Clock::now();
  for (size_t i = 0; i < data.size(); ++i) {
    sn::Rng rng(sample_seed(seed, 0, static_cast<int64_t>(i)));
    const sn::Tensor x = tf(load_image(data.paths[i]), rng);
    if (x.numel() != 3 * 224 * 224) std::abort();
  }
  return seconds_since(t0);
}

// One epoch through the DataLoader (batches of 32, no cache unless asked).
double pass_loader(DataLoader& loader, int64_t epoch) {
  const auto t0 = Clock::now();
  loader.start_epoch(epoch);
  Batch b;
  while (loader.next(b)) {
  }
  return seconds_since(t0);
}

double pass_pil(const std::string& python, const std::string& script, const std::string& data) {
  const std::string cmd = python + " " + script + " --data '" + data + "' --passes 1 --warmup 1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (pclose(p) != 0) return -1;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')));
  return j.at("seconds").at(0).get<double>();
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoi(item));
  return v;
}

std::string read_first_line(const char* path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "../shared/datasets/catanddog/train", json_path, python = "/usr/bin/python3";
  std::string script = "tools/bench/bench_data_pil.py";
  int rounds = 5;
  bool pil = true;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> threads = {1, std::max(2, cores)};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_data: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data")
      data = value();
    else if (a == "--rounds")
      rounds = std::stoi(value());
    else if (a == "--threads")
      threads = parse_list(value());
    else if (a == "--json")
      json_path = value();
    else if (a == "--python")
      python = value();
    else if (a == "--pil-script")
      script = value();
    else if (a == "--no-pil")
      pil = false;
    else {
      std::fprintf(stderr, "usage: bench_data [--data DIR] [--rounds N] [--threads 1,2,4] [--json FILE] [--no-pil]\n");
      return 2;
    }
  }
  try {
    const ImageFolder folder = ImageFolder::scan(data);
    const Compose tf = bench_transform();
    std::fprintf(stderr, "bench_data: %s\n%d rounds, %d cores, load average %s\n", folder.summary().c_str(), rounds,
                 cores, read_first_line("/proc/loadavg").c_str());
    // Loaders are made once (threads started), then timed one epoch per round.
    std::vector<std::unique_ptr<DataLoader>> loaders;
    for (int t : threads) {
      LoaderOptions o;
      o.num_workers = t;
      o.cache_bytes = 0;
      o.prefetch_batches = std::max(2, t);
      loaders.push_back(std::make_unique<DataLoader>(folder, tf, o));
    }
    LoaderOptions co;
    co.num_workers = 0;
    DataLoader cached(folder, tf, co);
    pass_loader(cached, 0);  // fills the cache (and warms the file cache)
    pass_single(folder, tf, 0);

    std::vector<double> single, pil_t, cached_t;
    std::vector<std::vector<double>> multi(threads.size());
    for (int r = 0; r < rounds; ++r) {
      single.push_back(pass_single(folder, tf, r));
      for (size_t k = 0; k < threads.size(); ++k) multi[k].push_back(pass_loader(*loaders[k], r));
      cached_t.push_back(pass_loader(cached, r + 1));
      if (pil) {
        const double t = pass_pil(python, script, data);
        if (t < 0) {
          std::fprintf(stderr, "bench_data: running %s %s failed (needs python3-torchvision, python3-pil)\n",
                       python.c_str(), script.c_str());
          pil = false;
        } else {
          pil_t.push_back(t);
        }
      }
      std::fprintf(stderr, "round %d: scratchnet 1 thread %.3f s%s\n", r + 1, single.back(),
                   pil ? (", PIL " + std::to_string(pil_t.back()) + " s").c_str() : "");
    }

    const double n = static_cast<double>(folder.size());
    nlohmann::json j;
    j["images"] = folder.size();
    j["work"] = "read+decode, Resize((256,256)), RandomResizedCrop(224), RandomHorizontalFlip, ToTensor";
    j["rounds"] = rounds;
    j["cores"] = cores;
    j["load_average_end"] = read_first_line("/proc/loadavg");
    j["scratchnet_single_s"] = median(single);
    j["scratchnet_cached_epoch_s"] = median(cached_t);
    std::fprintf(stderr, "\n%-44s %9s %10s %9s\n", "median of rounds", "seconds", "ms/image", "vs PIL");
    const double p = pil ? median(pil_t) : 0;
    auto row = [&](const std::string& name, double s) {
      std::fprintf(stderr, "%-44s %9.3f %10.3f %8.2fx\n", name.c_str(), s, 1000 * s / n, pil ? p / s : 0.0);
    };
    if (pil) {
      j["pil_single_s"] = p;
      j["ratio_single"] = p / median(single);
      row("PIL + torchvision, 1 thread", p);
    }
    row("scratchnet, 1 thread", median(single));
    for (size_t k = 0; k < threads.size(); ++k) {
      const double s = median(multi[k]);
      j["scratchnet_loader_s"][std::to_string(threads[k])] = s;
      if (pil) j["ratio_threads"][std::to_string(threads[k])] = p / s;
      row("scratchnet DataLoader, " + std::to_string(threads[k]) + " worker(s)", s);
    }
    row("scratchnet DataLoader, cached epoch, 0 workers", median(cached_t));
    if (pil) j["ratio_cached_epoch"] = p / median(cached_t);
    const std::string out = j.dump(1);
    if (json_path.empty()) {
      std::printf("%s\n", out.c_str());
    } else {
      std::ofstream(json_path) << out << "\n";
      std::fprintf(stderr, "wrote %s\n", json_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
