#include "cuda_loader.hpp"

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace ef::detail {

namespace {

std::string dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown dlopen error";
}

bool is_file(const std::string& p) {
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dirname_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

// The file of the binary this function is linked into: the executable (eftrain, a program that
// links the static library) or a shared object (the Python extension).
std::string this_binary() {
  Dl_info info{};
  link_map* lm = nullptr;
  if (dladdr1(reinterpret_cast<void*>(&this_binary), &info, reinterpret_cast<void**>(&lm),
              RTLD_DL_LINKMAP) != 0 &&
      lm && lm->l_name && lm->l_name[0] != '\0') {
    char buf[PATH_MAX];
    if (realpath(lm->l_name, buf)) return buf;
    return lm->l_name;
  }
  // The main program has no name in its link map: its path is /proc/self/exe.
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return buf;
}

// The folders dlopen would search for a bare name from the main program (glibc's
// RTLD_DI_SERINFO): LD_LIBRARY_PATH, RUNPATH, the system folders.
std::vector<std::string> program_search_path() {
  std::vector<std::string> dirs;
  void* self = dlopen(nullptr, RTLD_LAZY);
  if (!self) return dirs;
  Dl_serinfo size{};
  if (dlinfo(self, RTLD_DI_SERINFOSIZE, &size) != 0 || size.dls_size < sizeof(Dl_serinfo))
    return dirs;
  std::unique_ptr<char[]> mem(new char[size.dls_size]);
  auto* info = reinterpret_cast<Dl_serinfo*>(mem.get());
  if (dlinfo(self, RTLD_DI_SERINFOSIZE, info) != 0 || dlinfo(self, RTLD_DI_SERINFO, info) != 0)
    return dirs;
  for (unsigned i = 0; i < info->dls_cnt; ++i)
    if (info->dls_serpath[i].dls_name && info->dls_serpath[i].dls_name[0])
      dirs.push_back(info->dls_serpath[i].dls_name);
  return dirs;
}

}  // namespace

int probe_cuda_driver(std::string* why) {
  auto fail = [&](const std::string& msg) {
    if (why) *why = msg;
    return 0;
  };
  // Never closed: cuInit may start driver threads, and the CUDA runtime reuses this handle.
  void* drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!drv) return fail("no NVIDIA driver (" + dl_error() + ")");
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  using NameFn = int (*)(int, const char**);
  auto cu_init = reinterpret_cast<InitFn>(dlsym(drv, "cuInit"));
  auto cu_count = reinterpret_cast<CountFn>(dlsym(drv, "cuDeviceGetCount"));
  auto cu_name = reinterpret_cast<NameFn>(dlsym(drv, "cuGetErrorName"));
  if (!cu_init || !cu_count) return fail("libcuda.so.1 lacks cuInit or cuDeviceGetCount");
  auto describe = [&](const char* call, int rc) {
    const char* name = nullptr;
    if (cu_name) cu_name(rc, &name);
    return std::string(call) + " failed: " + (name ? name : "CUresult " + std::to_string(rc));
  };
  if (const int rc = cu_init(0)) return fail(describe("cuInit", rc));
  int n = 0;
  if (const int rc = cu_count(&n)) return fail(describe("cuDeviceGetCount", rc));
  if (n <= 0) return fail("the NVIDIA driver reports no device");
  return n;
}

std::vector<std::string> module_candidates(const std::string& file, const char* env_var) {
  if (const char* env = std::getenv(env_var); env && env[0]) return {env};
  std::vector<std::string> c;
  const std::string bin = this_binary();
  if (!bin.empty()) {
    const std::string dir = dirname_of(bin);
    c.push_back(dir + "/" + file);
    c.push_back(dir + "/../" EF_INSTALL_LIBDIR "/" + file);
  }
  for (const std::string& d : program_search_path()) c.push_back(d + "/" + file);
  return c;
}

std::string find_module(const std::string& file, const char* env_var) {
  for (const std::string& p : module_candidates(file, env_var))
    if (is_file(p)) return p;
  return "";
}

std::vector<std::string> cuda_module_candidates() {
  return module_candidates(kCudaModuleFile, "EF_CUDA_MODULE");
}

std::string find_cuda_module() { return find_module(kCudaModuleFile, "EF_CUDA_MODULE"); }

const CudaModuleApi* load_cuda_module(const std::string& path, std::string* why) {
  auto fail = [&](const std::string& msg) -> const CudaModuleApi* {
    if (why) *why = msg;
    return nullptr;
  };
  if (path.empty()) return fail(std::string(kCudaModuleFile) + " not found");
  // RTLD_LOCAL: the module's copy of the engine never interposes on the program's.
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return fail("cannot load " + path + ": " + dl_error());
  auto entry = reinterpret_cast<CudaModuleEntryFn>(dlsym(h, kCudaModuleEntry));
  if (!entry) {
    dlclose(h);
    return fail(path + " has no entry point " + kCudaModuleEntry);
  }
  const CudaModuleApi* api = entry();
  if (!api || api->abi != kCudaModuleAbi || !api->version ||
      std::strcmp(api->version, EF_BUILD_VERSION) != 0 || !api->probe || !api->make_backend ||
      !api->select_device) {
    const std::string msg = (path + " was built for another echoflow (module " +
                (api && api->version ? api->version : "?") + " ABI " +
                std::to_string(api ? api->abi : -1) + ", this program " + EF_BUILD_VERSION +
                " ABI " + std::to_string(kCudaModuleAbi) + ")");
    dlclose(h);
    return fail(msg);
  }
  return api;
}

}  // namespace ef::detail
