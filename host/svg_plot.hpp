// Scatter plots as standalone SVG files (no plotting dependency): one panel per series, shared
// axis limits, so real and synthetic clouds can be compared side by side.
#pragma once
#include <string>
#include <vector>

namespace ef {

struct ScatterSeries {
  std::string title;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
};

// Writes panels left to right (atomically). Axis limits cover all series.
// write_scatter_png draws the same panels as a PNG raster (no text), encoded with zlib.
// shared_axes = false scales every panel to its own points.
void write_scatter_png(const std::string& path, const std::vector<ScatterSeries>& panels,
                       bool shared_axes = true);
void write_scatter_svg(const std::string& path, const std::string& title,
                       const std::vector<ScatterSeries>& panels);

}  // namespace ef
