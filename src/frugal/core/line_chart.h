#pragma once
// Line charts as standalone SVG files (training loss, held-out loss, rewards):
// linear axes with rounded ticks, one polyline per series, a legend. Written
// atomically, so a viewer refreshing the file never sees half a picture.
#include <string>
#include <vector>

namespace frugal {

struct ChartSeries {
  std::string name;
  std::vector<double> x, y;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;

  // The SVG document; series without points are listed in the legend only.
  std::string to_svg() const;
  void write(const std::string& path) const;
};

}  // namespace frugal
