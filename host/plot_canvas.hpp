// Drawing targets for host/plot.cpp's layout: cairo (PNG, PDF) and SVG markup. Text is measured
// with cairo in both, so the SVG's layout matches the PNG's (DejaVu Sans, fonts-dejavu-core).
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace ef {

struct Rgb {
  double r = 0, g = 0, b = 0;
  static Rgb hex(const std::string& s);  // "#rrggbb"
  std::string str() const;               // "#rrggbb"
};

enum class Anchor { Start, Middle, End };

class Canvas {
 public:
  virtual ~Canvas() = default;
  virtual void rect(double x, double y, double w, double h, const Rgb* fill, const Rgb* stroke,
                    double fill_alpha = 1) = 0;
  virtual void line(double x0, double y0, double x1, double y1, const Rgb& c, double width) = 0;
  // Filled circles of radius r at (x[i], y[i]) in canvas units.
  virtual void dots(const std::vector<double>& x, const std::vector<double>& y, double r,
                    const Rgb& c, double alpha) = 0;
  // Text with its baseline at y; rotated = reads bottom to top.
  virtual void text(double x, double y, const std::string& s, double size, Anchor a,
                    bool bold = false, bool rotated = false) = 0;
  // Writes the result (atomically) to the path the canvas was made for.
  virtual void finish() = 0;
};

// Width of s in canvas units at the given font size.
double text_width(const std::string& s, double size, bool bold = false);
// A canvas for path (.png, .svg or .pdf) of the given size in canvas units (PNG: pixels).
std::unique_ptr<Canvas> make_canvas(const std::string& path, double width, double height);

}  // namespace ef
