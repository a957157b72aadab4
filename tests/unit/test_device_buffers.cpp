// The device backend's memory is owned (engine/device_buffer.hpp): on an executor whose k-th
// allocation throws, constructing the backend, growing its activations, uploading a dataset
// and starting a stream all fail cleanly for every k, leave nothing allocated once the backend
// is gone, and leave a backend that still works. HostExec counts the allocations it has live.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // as in engine/device_backend_host.cpp
#endif
#include <doctest/doctest.h>

#include <vector>

#include "device_backend.hpp"
#include "device_cases.hpp"
#include "host_exec.hpp"

using namespace efd;

namespace {

// HostExec whose allocation number `countdown` (0-based, counted from when it is set) throws.
struct FailingHostExec : ef::HostExec {
  static inline long countdown = -1;  // -1: never
  template <class T>
  T* alloc(size_t n) {
    if (countdown == 0) EF_THROW("injected allocation failure");
    if (countdown > 0) --countdown;
    return HostExec::alloc<T>(n);
  }
  template <class T>
  T* alloc_host(size_t n) {
    return alloc<T>(n);
  }
};

using FailingBackend = ef::DeviceBackend<FailingHostExec>;

long live() { return ef::HostExec::live_allocations(); }

}  // namespace

TEST_CASE("device buffers: HostExec counts its live allocations") {
  const long base = live();
  ef::HostExec ex;
  float* a = ex.alloc<float>(10);
  int* b = ex.alloc_host<int>(0);
  CHECK(live() == base + 2);
  ex.free(a);
  ex.free_host(b);
  ex.free(nullptr);
  CHECK(live() == base);
}

TEST_CASE("device buffers: a constructor that throws part way frees what it allocated") {
  for (const Named& n : {specs()[0], specs()[4], specs()[6]}) {
    CAPTURE(n.name);
    const long base = live();
    FailingHostExec::countdown = -1;
    long total = 0;
    {
      FailingBackend be(n.spec);
      total = live() - base;
    }
    CHECK(live() == base);
    REQUIRE(total > 10);
    for (long k = 0; k < total; ++k) {
      CAPTURE(k);
      FailingHostExec::countdown = k;
      CHECK_THROWS_WITH_AS(FailingBackend(n.spec), "injected allocation failure", ef::Error);
      CHECK(live() == base);
    }
    FailingHostExec::countdown = -1;
  }
}

TEST_CASE("device buffers: growth, uploads and streams that throw leave a working backend") {
  const Named n = specs()[0];
  const long base = live();
  const int N = 400;
  const Rows rows = random_rows(n.spec, 1100, 3);
  auto ref = ef::make_host_device_backend(n.spec);
  {
    FailingBackend be(n.spec);
    same_params(*ref, be, rows, 1100, 4);
    // The k-th buffer of reserve(B), of upload_dataset (6 buffers) and of begin_stream (3 on
    // the device, then 4 pinned staging slots) throws.
    const long grow[] = {0, 1, 5, 20}, upload[] = {0, 1, 3, 5}, stream[] = {0, 2, 3, 6};
    for (int i = 0; i < 4; ++i) {
      CAPTURE(i);
      const int B = 700 + 100 * i;  // past the capacity so far: forward grows the activations
      const double want = ref->forward(rows.codes.data(), rows.u.data(), B);
      FailingHostExec::countdown = grow[i];
      CHECK_THROWS_AS(be.forward(rows.codes.data(), rows.u.data(), B), ef::Error);
      FailingHostExec::countdown = -1;
      // The half-built activations are not mistaken for a capacity of B rows.
      CHECK(be.forward(rows.codes.data(), rows.u.data(), B) == want);
      FailingHostExec::countdown = upload[i];
      CHECK_THROWS_AS(be.upload_dataset(rows.codes.data(), rows.u.data(), N), ef::Error);
      CHECK(be.resident_rows() == 0);
      FailingHostExec::countdown = stream[i];
      CHECK_THROWS_AS(be.begin_stream(64, 3), ef::Error);
      CHECK(be.resident_rows() == 0);
      FailingHostExec::countdown = -1;
      be.begin_stream(64, 3);
      be.end_stream();
      be.upload_dataset(rows.codes.data(), rows.u.data(), N);
      CHECK(be.resident_rows() == N);
      be.release_data();
    }
  }
  ref.reset();
  CHECK(live() == base);
}
