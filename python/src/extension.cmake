# The Python extension echoflow._core (nanobind), linked against the static `echoflow` library.
# Included (deferred) at the end of the root CMakeLists.txt by python/cmake/echoflow_python.cmake
# when scikit-build-core builds the wheel; runs in the root directory's scope.
find_package(Python 3.9 COMPONENTS Interpreter Development.Module REQUIRED)
find_package(nanobind CONFIG REQUIRED)

nanobind_add_module(_core NB_STATIC "${CMAKE_CURRENT_LIST_DIR}/echoflow_ext.cpp")
target_link_libraries(_core PRIVATE echoflow)
target_compile_options(_core PRIVATE ${EF_WARNINGS})
install(TARGETS _core LIBRARY DESTINATION echoflow COMPONENT python)
# The CUDA module, when this build has one, beside the extension: the engine looks for it in the
# folder of the binary that holds it (engine/cuda_loader.cpp). Without it the package runs on CPU.
if(TARGET echoflow_cuda)
  install(TARGETS echoflow_cuda LIBRARY DESTINATION echoflow COMPONENT python)
endif()
