// ParamLayout: named tensors as offsets into one flat buffer. Parameters, gradients and both
// Adam moments share this layout, so the optimizer is one loop over one buffer (one kernel on a
// GPU) and a model file is one array.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ef {

struct ParamTensor {
  std::string name;
  size_t offset;
  size_t size;
};

class ParamLayout {
 public:
  // Reserves `size` values; returns the offset. Offsets are 16-value aligned so vectorized
  // device loads of a tensor never straddle another one.
  size_t add(const std::string& name, size_t size) {
    size_t off = (total_ + 15) / 16 * 16;
    tensors_.push_back({name, off, size});
    total_ = off + size;
    return off;
  }
  size_t total() const { return total_; }
  const std::vector<ParamTensor>& tensors() const { return tensors_; }

 private:
  std::vector<ParamTensor> tensors_;
  size_t total_ = 0;
};

}  // namespace ef
