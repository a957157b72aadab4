#include "plot_canvas.hpp"

#include <cairo-pdf.h>
#include <cairo.h>

#include <cstdio>
#include <cstdlib>

#include "csv.hpp"
#include "error.hpp"

namespace ef {
namespace {

const char* kFont = "DejaVu Sans";

bool ends_with(const std::string& s, const char* suf) {
  const std::string t(suf);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int n) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), n);
  return CAIRO_STATUS_SUCCESS;
}

void set_font(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

class CairoCanvas : public Canvas {
 public:
  CairoCanvas(std::string path, double w, double h) : path_(std::move(path)) {
    if (ends_with(path_, ".pdf")) {
      surface_ = cairo_pdf_surface_create_for_stream(append_bytes, &bytes_, w, h);
    } else {
      surface_ = cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(w + 0.5), int(h + 0.5));
      png_ = true;
    }
    cr_ = cairo_create(surface_);
    EF_CHECK(cairo_status(cr_) == CAIRO_STATUS_SUCCESS, path_, ": cannot create a ", int(w), "x",
             int(h), " drawing surface: ", cairo_status_to_string(cairo_status(cr_)));
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_paint(cr_);
  }
  ~CairoCanvas() override {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  void rect(double x, double y, double w, double h, const Rgb* fill, const Rgb* stroke,
            double fill_alpha) override {
    cairo_rectangle(cr_, x, y, w, h);
    if (fill) {
      cairo_set_source_rgba(cr_, fill->r, fill->g, fill->b, fill_alpha);
      stroke ? cairo_fill_preserve(cr_) : cairo_fill(cr_);
    }
    if (stroke) {
      cairo_set_source_rgb(cr_, stroke->r, stroke->g, stroke->b);
      cairo_set_line_width(cr_, 1);
      cairo_stroke(cr_);
    }
  }
  void line(double x0, double y0, double x1, double y1, const Rgb& c, double width) override {
    cairo_move_to(cr_, x0, y0);
    cairo_line_to(cr_, x1, y1);
    cairo_set_source_rgb(cr_, c.r, c.g, c.b);
    cairo_set_line_width(cr_, width);
    cairo_stroke(cr_);
  }
  void dots(const std::vector<double>& x, const std::vector<double>& y, double r, const Rgb& c,
            double alpha) override {
    cairo_set_source_rgba(cr_, c.r, c.g, c.b, alpha);
    for (size_t i = 0; i < x.size(); ++i) {
      cairo_new_sub_path(cr_);
      cairo_arc(cr_, x[i], y[i], r, 0, 6.283185307179586);
      cairo_fill(cr_);  // one fill per dot: overlapping dots darken, as in the SVG
    }
  }
  void text(double x, double y, const std::string& s, double size, Anchor a, bool bold,
            bool rotated) override {
    set_font(cr_, size, bold);
    cairo_text_extents_t e;
    cairo_text_extents(cr_, s.c_str(), &e);
    const double shift = a == Anchor::Start ? 0 : a == Anchor::Middle ? e.x_advance / 2 : e.x_advance;
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    if (rotated) cairo_rotate(cr_, -1.5707963267948966);
    cairo_move_to(cr_, -shift, 0);
    cairo_set_source_rgb(cr_, 0.1, 0.1, 0.1);
    cairo_show_text(cr_, s.c_str());
    cairo_restore(cr_);
  }
  void finish() override {
    if (png_) {
      cairo_surface_flush(surface_);
      const cairo_status_t st = cairo_surface_write_to_png_stream(surface_, append_bytes, &bytes_);
      EF_CHECK(st == CAIRO_STATUS_SUCCESS, path_, ": PNG encoding failed: ", cairo_status_to_string(st));
    } else {
      cairo_surface_finish(surface_);
      EF_CHECK(cairo_surface_status(surface_) == CAIRO_STATUS_SUCCESS, path_, ": PDF output failed: ",
               cairo_status_to_string(cairo_surface_status(surface_)));
    }
    write_file_atomic(path_, bytes_);
  }

 private:
  std::string path_, bytes_;
  bool png_ = false;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

class SvgCanvas : public Canvas {
 public:
  SvgCanvas(std::string path, double w, double h) : path_(std::move(path)) {
    out_ = fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, sans-serif\">\n", w, h, w, h);
    out_ += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }
  void rect(double x, double y, double w, double h, const Rgb* fill, const Rgb* stroke,
            double fill_alpha) override {
    out_ += fmt("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x, y, w, h);
    out_ += " fill=\"" + (fill ? fill->str() : std::string("none")) + "\"";
    if (fill && fill_alpha < 1) out_ += fmt(" fill-opacity=\"%.2f\"", fill_alpha);
    if (stroke) out_ += " stroke=\"" + stroke->str() + "\"";
    out_ += "/>\n";
  }
  void line(double x0, double y0, double x1, double y1, const Rgb& c, double width) override {
    out_ += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"%.2f\"", x0, y0,
                x1, y1, width);
    out_ += " stroke=\"" + c.str() + "\"/>\n";
  }
  void dots(const std::vector<double>& x, const std::vector<double>& y, double r, const Rgb& c,
            double alpha) override {
    out_ += "<g fill=\"" + c.str() + fmt("\" fill-opacity=\"%.2f\">\n", alpha);
    for (size_t i = 0; i < x.size(); ++i)
      out_ += fmt("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>\n", x[i], y[i], r);
    out_ += "</g>\n";
  }
  void text(double x, double y, const std::string& s, double size, Anchor a, bool bold,
            bool rotated) override {
    const char* anchor = a == Anchor::Start ? "start" : a == Anchor::Middle ? "middle" : "end";
    out_ += fmt("<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"%s\" fill=\"#1a1a1a\"",
                x, y, size, anchor);
    if (bold) out_ += " font-weight=\"bold\"";
    if (rotated) out_ += fmt(" transform=\"rotate(-90 %.1f %.1f)\"", x, y);
    out_ += ">" + esc(s) + "</text>\n";
  }
  void finish() override { write_file_atomic(path_, out_ + "</svg>\n"); }

 private:
  template <class... A>
  static std::string fmt(const char* f, A... a) {
    char b[512];
    std::snprintf(b, sizeof b, f, a...);
    return b;
  }
  std::string path_, out_;
};

}  // namespace

Rgb Rgb::hex(const std::string& s) {
  EF_CHECK(s.size() == 7 && s[0] == '#', "bad colour \"", s, "\" (expected #rrggbb)");
  const unsigned long v = std::strtoul(s.c_str() + 1, nullptr, 16);
  return {((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0};
}

std::string Rgb::str() const {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(r * 255 + 0.5), int(g * 255 + 0.5),
                int(b * 255 + 0.5));
  return buf;
}

double text_width(const std::string& s, double size, bool bold) {
  // A scratch context: measurement only (the same font selection as the drawing canvases).
  static thread_local cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
  static thread_local cairo_t* cr = cairo_create(surface);
  set_font(cr, size, bold);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

std::unique_ptr<Canvas> make_canvas(const std::string& path, double width, double height) {
  if (ends_with(path, ".svg")) return std::make_unique<SvgCanvas>(path, width, height);
  if (ends_with(path, ".png") || ends_with(path, ".pdf"))
    return std::make_unique<CairoCanvas>(path, width, height);
  EF_THROW(path, ": unknown plot format (expected .png, .svg or .pdf)");
}

}  // namespace ef
