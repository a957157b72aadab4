"""Checks a figure written by `eftrain plot` / `eftrain visualize` (stdlib only):
  check_plot.py svg FILE.svg TEXT...     every TEXT is the content of some <text> element
  check_plot.py png FILE.png W H         a valid PNG (chunk CRCs, zlib stream, scanline filters)
                                         of W x H pixels that is not blank
  check_plot.py pdf FILE.pdf             a PDF that cairo finished (header and %%EOF trailer)
Exit status 1 with a message naming what is wrong."""
import struct
import sys
import xml.etree.ElementTree as ET
import zlib


def fail(msg):
    print("check_plot: " + msg, file=sys.stderr)
    sys.exit(1)


def check_svg(path, wanted):
    root = ET.parse(path).getroot()
    texts = [(t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for w in wanted:
        if w not in texts:
            fail(f"{path}: no <text> element reads {w!r}; the texts are {texts}")


def check_png(path, width, height):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) != crc:
            fail(f"{path}: bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if ihdr is None:
        fail(f"{path}: no IHDR")
    w, h, depth, color = ihdr[:4]
    if (w, h) != (width, height):
        fail(f"{path}: {w}x{h} pixels, expected {width}x{height}")
    channels = {2: 3, 6: 4, 0: 1, 4: 2}[color]
    bpp = channels * depth // 8
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        fail(f"{path}: {len(raw)} bytes of pixel data, expected {h * (stride + 1)}")
    # Undo the scanline filters and count pixels that are not white.
    prev, dark = bytearray(stride), 0
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif f != 0:
                fail(f"{path}: bad filter {f} on row {y}")
        dark += sum(1 for i in range(0, stride, bpp) if min(line[i:i + 3]) < 128)
        prev = line
    if dark < 1000:
        fail(f"{path}: only {dark} dark pixels: the figure is blank")


def check_pdf(path):
    data = open(path, "rb").read()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-64:]:
        fail(f"{path}: not a complete PDF")


if __name__ == "__main__":
    kind, path, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if kind == "svg":
        check_svg(path, rest)
    elif kind == "png":
        check_png(path, int(rest[0]), int(rest[1]))
    elif kind == "pdf":
        check_pdf(path)
    else:
        fail("unknown kind " + kind)
