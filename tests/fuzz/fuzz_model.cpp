// libFuzzer target: echoflow::parse_model_bytes (the .efm reader behind Model::load).
// Each input is parsed twice:
//   1. as is (magic, version, lengths, CRC all checked against the raw bytes);
//   2. "repaired": when the input starts with the magic, the header length, parameter count
//      and CRC-32 are recomputed from what is there, so mutations of the JSON header and the
//      parameters get past the framing checks and reach the header validation and the
//      layout rebuild.
// parse_model_bytes must succeed or throw ef::Error; anything else is a bug.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "error.hpp"
#include "model_impl.hpp"

namespace echoflow {
// Defined in host/model_file.cpp; declared in no header.
std::shared_ptr<Model::Impl> parse_model_bytes(const std::string& bytes, const std::string& path);
}  // namespace echoflow

namespace {

template <class V>
void put(std::string& s, V v) {
  char b[sizeof(V)];
  std::memcpy(b, &v, sizeof(V));
  s.append(b, sizeof(V));
}

void one(const std::string& bytes) {
  try {
    auto impl = echoflow::parse_model_bytes(bytes, "fuzz.efm");
    (void)impl;
  } catch (const ef::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  one(raw);

  if (size < 16 || std::memcmp(data, "EFMODEL\0", 8) != 0) return 0;
  uint32_t version, hlen;
  std::memcpy(&version, data + 8, 4);
  std::memcpy(&hlen, data + 12, 4);
  if (hlen > size - 16) hlen = uint32_t(size - 16);
  const std::string header = raw.substr(16, hlen);
  std::string rest = raw.substr(16 + size_t(hlen));
  rest = rest.size() >= 12 ? rest.substr(8, rest.size() - 12) : std::string();  // drop P and CRC
  rest.resize(rest.size() / 4 * 4);
  std::string s(raw.data(), 8);
  put<uint32_t>(s, version);
  put<uint32_t>(s, uint32_t(header.size()));
  s += header;
  put<uint64_t>(s, uint64_t(rest.size() / 4));
  s += rest;
  put<uint32_t>(s, uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size()))));
  one(s);
  return 0;
}
