#include "frugal/core/line_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "frugal/core/mapped_file.h"

namespace frugal {
namespace {

constexpr double kWidth = 720, kHeight = 420;
constexpr double kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;
const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about 6 ticks.
double tick_step(double span) {
  const double raw = span / 6.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10.0 * magnitude;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

}  // namespace

std::string LineChart::to_svg() const {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const ChartSeries& s : series)
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  const double xs = tick_step(x1 - x0), ys = tick_step(y1 - y0);
  y0 = std::floor(y0 / ys) * ys;
  y1 = std::ceil(y1 / ys) * ys;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (1.0 - (y - y0) / (y1 - y0)) * ph; };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape(title)
      << "</text>\n";
  for (double t = std::ceil(x0 / xs) * xs; t <= x1 + 1e-9 * xs; t += xs)
    svg << "<line x1=\"" << px(t) << "\" y1=\"" << kTop << "\" x2=\"" << px(t) << "\" y2=\"" << kTop + ph
        << "\" stroke=\"#eee\"/><text x=\"" << px(t) << "\" y=\"" << kTop + ph + 16
        << "\" text-anchor=\"middle\">" << number(t) << "</text>\n";
  for (double t = y0; t <= y1 + 1e-9 * ys; t += ys)
    svg << "<line x1=\"" << kLeft << "\" y1=\"" << py(t) << "\" x2=\"" << kLeft + pw << "\" y2=\"" << py(t)
        << "\" stroke=\"#eee\"/><text x=\"" << kLeft - 6 << "\" y=\"" << py(t) + 4
        << "\" text-anchor=\"end\">" << number(t) << "</text>\n";
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"#444\"/>\n"
      << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kHeight - 12 << "\" text-anchor=\"middle\">"
      << escape(x_label) << "</text>\n"
      << "<text transform=\"translate(16," << kTop + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << escape(y_label) << "</text>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const ChartSeries& s = series[k];
    const char* color = kColors[k % (sizeof kColors / sizeof kColors[0])];
    svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) svg << px(s.x[i]) << "," << py(s.y[i]) << " ";
    svg << "\"/>\n";
    const double ly = kTop + 14 + 16 * static_cast<double>(k);
    svg << "<line x1=\"" << kLeft + pw - 150 << "\" y1=\"" << ly - 4 << "\" x2=\"" << kLeft + pw - 130 << "\" y2=\""
        << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\"/><text x=\"" << kLeft + pw - 124 << "\" y=\""
        << ly << "\">" << escape(s.name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

void LineChart::write(const std::string& path) const { write_file_atomically(path, to_svg()); }

}  // namespace frugal
