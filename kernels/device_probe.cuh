// Probing for usable CUDA devices (called once, lazily, by engine/device.cpp).
#pragma once
#include <string>

namespace ef::kernels {
// Number of usable devices; 0 with the reason in *why (e.g. cudaErrorInsufficientDriver).
int probe_devices(std::string* why);
}
