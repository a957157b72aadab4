#include "svg_plot.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "output_file.hpp"
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
struct Limits {
  double x0, x1, y0, y1;
};
Limits limits(const std::vector<ScatterSeries>& panels) {
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
  return {x0 - padx, x1 + padx, y0 - pady, y1 + pady};
}
void put_be32(std::string& s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s += char((v >> (8 * k)) & 0xff);
}
void png_chunk(std::string& out, const char* type, const std::string& data) {
  put_be32(out, uint32_t(data.size()));
  std::string td = std::string(type, 4) + data;
  out += td;
  put_be32(out, uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(td.data()), uInt(td.size()))));
}
}  // namespace

void write_scatter_png(const std::string& path, const std::vector<ScatterSeries>& panels,
                       bool shared_axes) {
  EF_CHECK(!panels.empty(), "nothing to plot");
  const Limits shared = limits(panels);
  const int W = 400, M = 20;
  const int width = int(panels.size()) * (W + M) + M, height = W + 2 * M;
  std::vector<unsigned char> rgb(size_t(width) * height * 3, 255);
  auto blend = [&](int x, int y, unsigned c, double a) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    unsigned char* p = &rgb[(size_t(y) * width + x) * 3];
    const unsigned char col[3] = {(unsigned char)(c >> 16), (unsigned char)(c >> 8), (unsigned char)c};
    for (int k = 0; k < 3; ++k) p[k] = (unsigned char)(p[k] * (1 - a) + col[k] * a);
  };
  for (size_t k = 0; k < panels.size(); ++k) {
    const Limits L = shared_axes ? shared : limits({panels[k]});
    const int ox = M + int(k) * (W + M), oy = M;
    for (int i = 0; i <= W; ++i) {  // frame
      blend(ox + i, oy, 0x444444, 1); blend(ox + i, oy + W, 0x444444, 1);
      blend(ox, oy + i, 0x444444, 1); blend(ox + W, oy + i, 0x444444, 1);
    }
    const unsigned color = unsigned(std::strtoul(panels[k].color.c_str() + 1, nullptr, 16));
    for (size_t i = 0; i < panels[k].x.size(); ++i) {
      const double px = panels[k].x[i], py = panels[k].y[i];
      if (!std::isfinite(px) || !std::isfinite(py)) continue;
      const int cx = ox + int((px - L.x0) / (L.x1 - L.x0) * W);
      const int cy = oy + W - int((py - L.y0) / (L.y1 - L.y0) * W);
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) blend(cx + dx, cy + dy, color, dx || dy ? 0.25 : 0.5);
    }
  }
  std::string raw;
  raw.reserve(size_t(height) * (width * 3 + 1));
  for (int y = 0; y < height; ++y) {
    raw += char(0);  // filter: none
    raw.append(reinterpret_cast<const char*>(&rgb[size_t(y) * width * 3]), size_t(width) * 3);
  }
  uLongf zlen = compressBound(uLong(raw.size()));
  std::string z(zlen, '\0');
  EF_CHECK(compress2(reinterpret_cast<Bytef*>(&z[0]), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
                     uLong(raw.size()), 6) == Z_OK, path, ": PNG compression failed");
  z.resize(zlen);
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  put_be32(ihdr, uint32_t(width));
  put_be32(ihdr, uint32_t(height));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  png_chunk(png, "IHDR", ihdr);
  png_chunk(png, "IDAT", z);
  png_chunk(png, "IEND", "");
  write_file_atomic(path, png);
}

void write_scatter_svg(const std::string& path, const std::string& title,
                       const std::vector<ScatterSeries>& panels) {
  EF_CHECK(!panels.empty(), "nothing to plot");
  const Limits lim = limits(panels);
  const double x0 = lim.x0, x1 = lim.x1, y0 = lim.y0, y1 = lim.y1;
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
