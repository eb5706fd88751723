// `scratchnet info FILE.snw`: the header and tensor table of a weight file.
// Opening the file verifies it (magic, version, sizes, checksums).
#include <cstdio>
#include <memory>

#include "engine/io/weight_file.h"
#include "tools/scratchnet/commands.h"

namespace {

int run_info(const std::string& path, bool all_labels) {
  using namespace sn;
  const io::WeightFile f(path);
  const io::WeightMeta& m = f.meta();
  const io::Preprocessing& p = m.preprocessing;
  std::printf("file:          %s (format version %u, checksums OK)\n", path.c_str(), f.version());
  std::printf("architecture:  %s %s\n", m.architecture.c_str(), m.model.dump().c_str());
  std::printf("preprocessing: resize %d, center crop %d, %s, x * %g, mean [%g, %g, %g], std [%g, %g, %g]\n", p.resize,
              p.crop, p.channel_order.c_str(), p.scale, p.mean[0], p.mean[1], p.mean[2], p.std[0], p.std[1], p.std[2]);
  std::printf("labels:        %zu", m.labels.size());
  for (size_t i = 0; i < m.labels.size() && (all_labels || i < 5); ++i)
    std::printf("%s%zu %s", i ? ", " : " (", i, m.labels[i].c_str());
  std::printf("%s\n", m.labels.empty() ? "" : (all_labels || m.labels.size() <= 5 ? ")" : ", ...)"));
  std::printf("metadata:      %s\n", m.metadata.dump().c_str());
  std::printf("\n%-44s %-8s %-22s %12s %12s %10s\n", "tensor", "dtype", "shape", "offset", "bytes", "crc32");
  int64_t values = 0, bytes = 0;
  for (const auto& t : f.tensors()) {
    std::printf("%-44s %-8s %-22s %12llu %12llu 0x%08x\n", t.name.c_str(), t.dtype.c_str(), to_string(t.shape).c_str(),
                static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.nbytes), t.crc32);
    values += numel(t.shape);
    bytes += static_cast<int64_t>(t.nbytes);
  }
  std::printf("\n%zu tensors, %lld values, %lld bytes\n", f.tensors().size(), static_cast<long long>(values),
              static_cast<long long>(bytes));
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a weight file's header and tensor table (and verify it)");
  auto path = std::make_shared<std::string>();
  auto all_labels = std::make_shared<bool>(false);
  cmd->add_option("file", *path, "a .snw weight file")->required();
  cmd->add_flag("--labels", *all_labels, "print every class name");
  cmd->callback([path, all_labels] { sn::cli::run([&] { return run_info(*path, *all_labels); }); });
});
