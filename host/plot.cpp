// Figure layout: panels on a grid, each with a title, a frame, ticks in data units, axis names
// and a legend; drawn on a host/plot_canvas.hpp target.
#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "error.hpp"
#include "plot_canvas.hpp"

namespace ef {

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return t;
  const double raw = (hi - lo) / std::max(1, target);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
    t.push_back(std::fabs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

std::string tick_label(double v, double step) {
  char b[48];
  const double a = std::max(std::fabs(v), step);
  if (a >= 1e6 || a < 1e-4) {
    std::snprintf(b, sizeof b, "%.3g", v);
  } else {
    const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
  }
  return b;
}

namespace {

struct Range {
  double lo = INFINITY, hi = -INFINITY;
};

// The data range of one axis over the given panels (a categorical axis spans its categories).
Range axis_range(const std::vector<const PlotPanel*>& panels, bool x_axis) {
  Range r;
  size_t ncat = 0;
  for (auto* p : panels) {
    const PlotAxis& ax = x_axis ? p->x : p->y;
    ncat = std::max(ncat, ax.categories.size());
    for (auto& s : p->series)
      for (double v : x_axis ? s.x : s.y)
        if (std::isfinite(v)) r.lo = std::min(r.lo, v), r.hi = std::max(r.hi, v);
  }
  if (ncat > 0) return {-0.6, double(ncat) - 0.4};
  if (!(r.hi >= r.lo)) return {0, 1};
  if (!(r.hi > r.lo)) return {r.lo - 1, r.hi + 1};
  const double pad = 0.05 * (r.hi - r.lo);
  return {r.lo - pad, r.hi + pad};
}

struct Tick {
  double v;
  std::string label;
};

std::vector<Tick> axis_ticks(const PlotAxis& ax, Range r, double length_px) {
  std::vector<Tick> t;
  if (!ax.categories.empty()) {
    const size_t k = ax.categories.size();
    const size_t max_labels = std::max<size_t>(2, size_t(length_px / 28));
    const size_t stride = (k + max_labels - 1) / max_labels;
    const size_t max_chars = std::max<size_t>(3, size_t(length_px / double(std::min(k, max_labels)) / 7));
    for (size_t i = 0; i < k; i += stride) {
      std::string s = ax.categories[i];
      if (s.size() > max_chars) s = s.substr(0, max_chars - 1) + "~";
      t.push_back({double(i), s});
    }
    return t;
  }
  std::vector<double> v = nice_ticks(r.lo, r.hi, length_px > 250 ? 5 : 3);
  if (ax.min_step > 0 && v.size() > 1 && v[1] - v[0] < ax.min_step) {
    v.clear();
    for (double x = std::ceil(r.lo / ax.min_step) * ax.min_step; x <= r.hi; x += ax.min_step) v.push_back(x);
  }
  const double step = v.size() > 1 ? v[1] - v[0] : 1;
  for (double x : v) t.push_back({x, tick_label(x, step)});
  return t;
}

const double kPlotW = 340, kPlotH = 300, kTitleH = 36, kPanelTop = 28, kRight = 16;
const double kTickFont = 10, kAxisFont = 12, kPanelFont = 13, kTitleFont = 16, kLegendFont = 11;
const Rgb kFrame{0.27, 0.27, 0.27}, kGrid{0.9, 0.9, 0.9}, kLegendEdge{0.8, 0.8, 0.8}, kWhite{1, 1, 1};

}  // namespace

void write_figure(const std::string& path, const Figure& fig) {
  EF_CHECK(!fig.panels.empty(), path, ": nothing to plot");
  const size_t n = fig.panels.size();
  const size_t cols = fig.columns > 0 ? std::min(n, size_t(fig.columns)) : n;
  const size_t rows = (n + cols - 1) / cols;

  std::vector<const PlotPanel*> all;
  for (auto& p : fig.panels) all.push_back(&p);
  std::vector<Range> xr(n), yr(n);
  std::vector<std::vector<Tick>> xt(n), yt(n);
  for (size_t k = 0; k < n; ++k) {
    const std::vector<const PlotPanel*> scope =
        fig.shared_axes ? all : std::vector<const PlotPanel*>{&fig.panels[k]};
    xr[k] = axis_range(scope, true);
    yr[k] = axis_range(scope, false);
    xt[k] = axis_ticks(fig.panels[k].x, xr[k], kPlotW);
    yt[k] = axis_ticks(fig.panels[k].y, yr[k], kPlotH);
  }
  // A fixed left margin (tick labels are at most ~9 characters: tick_label switches to %.3g), so
  // the figure's size depends only on its panel grid: (96 + 340 + 16) per column + 8 wide,
  // title + (28 + 300 + 46) per row + 4 high.
  const double left = 96;
  const double bottom = 6 + kTickFont + 10 + kAxisFont + 8;
  const double cell_w = left + kPlotW + kRight, cell_h = kPanelTop + kPlotH + bottom;
  const double top = fig.title.empty() ? 4 : kTitleH;
  const double W = cols * cell_w + 8, H = top + rows * cell_h + 4;
  auto canvas = make_canvas(path, W, H);
  if (!fig.title.empty()) canvas->text(W / 2, 24, fig.title, kTitleFont, Anchor::Middle, true);

  for (size_t k = 0; k < n; ++k) {
    const PlotPanel& p = fig.panels[k];
    const double ox = 4 + (k % cols) * cell_w + left, oy = top + (k / cols) * cell_h + kPanelTop;
    const Range X = xr[k], Y = yr[k];
    auto px = [&](double v) { return ox + (v - X.lo) / (X.hi - X.lo) * kPlotW; };
    auto py = [&](double v) { return oy + kPlotH - (v - Y.lo) / (Y.hi - Y.lo) * kPlotH; };
    canvas->text(ox + kPlotW / 2, oy - 9, p.title, kPanelFont, Anchor::Middle);
    for (auto& t : xt[k]) {  // grid lines, ticks and tick labels
      canvas->line(px(t.v), oy, px(t.v), oy + kPlotH, kGrid, 1);
      canvas->line(px(t.v), oy + kPlotH, px(t.v), oy + kPlotH + 4, kFrame, 1);
      canvas->text(px(t.v), oy + kPlotH + 6 + kTickFont, t.label, kTickFont, Anchor::Middle);
    }
    for (auto& t : yt[k]) {
      canvas->line(ox, py(t.v), ox + kPlotW, py(t.v), kGrid, 1);
      canvas->line(ox - 4, py(t.v), ox, py(t.v), kFrame, 1);
      canvas->text(ox - 7, py(t.v) + kTickFont * 0.35, t.label, kTickFont, Anchor::End);
    }
    canvas->text(ox + kPlotW / 2, oy + kPlotH + bottom - 8, p.x.name, kAxisFont, Anchor::Middle);
    double ytick_w = 0;  // the y axis name sits just left of the widest tick label
    for (auto& t : yt[k]) ytick_w = std::max(ytick_w, text_width(t.label, kTickFont));
    canvas->text(std::max(ox - left + 8 + kAxisFont, ox - 7 - ytick_w - 8), oy + kPlotH / 2, p.y.name,
                 kAxisFont, Anchor::Middle, false, /*rotated=*/true);
    for (auto& s : p.series) {
      std::vector<double> cx, cy;
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) cx.push_back(px(s.x[i])), cy.push_back(py(s.y[i]));
      canvas->dots(cx, cy, 1.6, Rgb::hex(s.color), 0.45);
    }
    canvas->rect(ox, oy, kPlotW, kPlotH, nullptr, &kFrame);
    // Legend, top right inside the frame.
    double lw = 0;
    for (auto& s : p.series) lw = std::max(lw, text_width(s.label, kLegendFont));
    if (lw > 0) {
      const double bw = lw + 28, bh = 8 + 16 * double(p.series.size());
      const double bx = ox + kPlotW - bw - 6, by = oy + 6;
      canvas->rect(bx, by, bw, bh, &kWhite, &kLegendEdge, 0.85);
      for (size_t i = 0; i < p.series.size(); ++i) {
        const double ly = by + 4 + 16 * double(i) + 8;
        canvas->dots({bx + 11}, {ly}, 4, Rgb::hex(p.series[i].color), 0.9);
        canvas->text(bx + 21, ly + kLegendFont * 0.35, p.series[i].label, kLegendFont, Anchor::Start);
      }
    }
  }
  canvas->finish();
}

}  // namespace ef
