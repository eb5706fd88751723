#include "tools/experiment/progress.h"

#include <unistd.h>

namespace sn::train {

Progress::Progress(ProgressMode mode, std::FILE* out) : mode_(mode), out_(out) {
  if (mode_ == ProgressMode::Auto) mode_ = ::isatty(::fileno(out)) ? ProgressMode::Bar : ProgressMode::Lines;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void Progress::start(const std::string& label, int64_t total) {
  label_ = label;
  total_ = total;
  next_quarter_ = 1;
  drawn_ = false;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

std::string Progress::render(int64_t done, const std::string& extra) const {
  const double t = elapsed_s();
  const double rate = t > 0 ? done / t : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : -1;
  std::string line = label_;
  if (mode_ == ProgressMode::Bar) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : 0;
    line += " [" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, " %5lld/%lld  %6.1f img/s  ETA %s", static_cast<long long>(done),
                static_cast<long long>(total_), rate, format_duration(eta).c_str());
  line += buf;
  if (!extra.empty()) line += "  " + extra;
  return line;
}

void Progress::update(int64_t done, const std::string& extra) {
  if (mode_ == ProgressMode::Quiet) return;
  const auto now = std::chrono::steady_clock::now();
  if (mode_ == ProgressMode::Bar) {
    // Redraw at most 10 times a second: a terminal is slow to scroll through updates.
    if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    // \r to the line start, \033[K clears what a longer previous line left.
    std::fprintf(out_, "\r%s\033[K", render(done, extra).c_str());
    std::fflush(out_);
    drawn_ = true;
    last_draw_ = now;
  } else if (total_ > 0 && next_quarter_ < 4 && done * 4 >= next_quarter_ * total_) {
    std::fprintf(out_, "%s\n", render(done, extra).c_str());
    std::fflush(out_);
    while (next_quarter_ < 4 && done * 4 >= next_quarter_ * total_) ++next_quarter_;
  }
}

void Progress::finish(const std::string& summary) { message(summary); }

void Progress::message(const std::string& line) {
  if (mode_ == ProgressMode::Quiet) return;
  if (mode_ == ProgressMode::Bar && drawn_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace sn::train
