#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "csv.hpp"
#include "error.hpp"

namespace ef {
namespace {
std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}
}  // namespace

void write_scatter_svg(const std::string& path, const std::string& title,
                       const std::vector<ScatterSeries>& panels) {
  EF_CHECK(!panels.empty(), "nothing to plot");
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (auto& p : panels)
    for (size_t i = 0; i < p.x.size(); ++i) {
      if (!std::isfinite(p.x[i]) || !std::isfinite(p.y[i])) continue;
      x0 = std::min(x0, p.x[i]); x1 = std::max(x1, p.x[i]);
      y0 = std::min(y0, p.y[i]); y1 = std::max(y1, p.y[i]);
    }
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
  const double padx = 0.05 * (x1 - x0), pady = 0.05 * (y1 - y0);
  x0 -= padx; x1 += padx; y0 -= pady; y1 += pady;
  const int W = 360, H = 360, M = 40, top = 50;
  const int total_w = int(panels.size()) * (W + M) + M;
  std::string s;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                total_w, H + top + M);
  s += buf;
  s += "<text x=\"" + std::to_string(total_w / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"18\">" + esc(title) + "</text>\n";
  for (size_t k = 0; k < panels.size(); ++k) {
    const auto& p = panels[k];
    const int ox = M + int(k) * (W + M), oy = top;
    std::snprintf(buf, sizeof buf, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", ox, oy, W, H);
    s += buf;
    s += "<text x=\"" + std::to_string(ox + W / 2) + "\" y=\"" + std::to_string(oy + H + 24) +
         "\" text-anchor=\"middle\" font-size=\"14\">" + esc(p.title) + " (" + std::to_string(p.x.size()) + " points)</text>\n";
    s += "<g fill=\"" + p.color + "\" fill-opacity=\"0.45\">\n";
    for (size_t i = 0; i < p.x.size(); ++i) {
      if (!std::isfinite(p.x[i]) || !std::isfinite(p.y[i])) continue;
      const double px = ox + (p.x[i] - x0) / (x1 - x0) * W;
      const double py = oy + H - (p.y[i] - y0) / (y1 - y0) * H;
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\"/>\n", px, py);
      s += buf;
    }
    s += "</g>\n";
  }
  s += "</svg>\n";
  write_file_atomic(path, s);
}

}  // namespace ef
