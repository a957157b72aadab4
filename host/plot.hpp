// Labelled scatter figures (title, panels with their own titles, axis names, ticks in data units,
// a legend per panel) written as PNG or PDF through cairo, or as SVG with real <text> elements.
// cairo's own SVG surface draws glyphs as outlines, so the SVG is written from the same layout
// (host/plot_canvas.cpp): its text stays searchable and the tests can read it.
#pragma once
#include <string>
#include <vector>

namespace ef {

struct PlotSeries {
  std::string label;           // legend entry, e.g. "real (4000 rows)"
  std::vector<double> x, y;    // data units (category index on a categorical axis)
  std::string color = "#1f77b4";
};

struct PlotAxis {
  std::string name;                     // axis title
  std::vector<std::string> categories;  // non-empty: categorical axis, value i is categories[i]
  double min_step = 0;                  // ticks at least this far apart (1: whole numbers only)
};

struct PlotPanel {
  std::string title;
  std::vector<PlotSeries> series;
  PlotAxis x, y;
};

struct Figure {
  std::string title;
  std::vector<PlotPanel> panels;
  int columns = 0;           // panels per row (0: all in one row)
  bool shared_axes = true;   // false: every panel scaled to its own points
};

// Writes the figure atomically; the format follows the extension: .png, .svg or .pdf.
void write_figure(const std::string& path, const Figure& fig);

// "Nice" tick positions (1, 2 or 5 times a power of ten) covering [lo, hi], about `target` many.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A tick label with as many decimals as the step needs ("0.5", "1000", "1e+06").
std::string tick_label(double v, double step);

}  // namespace ef
