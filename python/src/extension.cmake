# The Python extension echoflow._core (nanobind), linked against the static `echoflow` library.
# Two ways in, one definition:
#  - `pip install .` (scikit-build-core): included, deferred, at the end of the root
#    CMakeLists.txt by python/cmake/echoflow_python.cmake; installed into the wheel.
#  - -DEF_PYTHON=ON (./tests/run.sh): included by the root CMakeLists.txt into the same build as
#    the C++ tools and tests, so the engine is compiled once. The package is assembled in
#    BUILD/python/echoflow (python/echoflow/*.py copied beside _core) for PYTHONPATH=BUILD/python,
#    and ctest runs the pytest suite on it (python_tests). Python_EXECUTABLE selects the
#    interpreter (a venv with the pinned tests/python/requirements.txt: tests/python/venv.sh).
find_package(Python 3.9 COMPONENTS Interpreter Development.Module REQUIRED)
if(NOT SKBUILD)
  # nanobind installed by pip into Python_EXECUTABLE's environment, unless nanobind_DIR is given.
  execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
                  OUTPUT_VARIABLE _ef_nanobind_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _ef_nanobind_rc)
  if(_ef_nanobind_rc EQUAL 0)
    list(APPEND CMAKE_PREFIX_PATH "${_ef_nanobind_dir}")
  endif()
endif()
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

if(NOT SKBUILD)
  set(_ef_pkg "${CMAKE_BINARY_DIR}/python/echoflow")
  set_target_properties(_core PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${_ef_pkg}")
  file(GLOB _ef_py CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/python/echoflow/*.py")
  add_custom_target(echoflow_py ALL
    COMMAND ${CMAKE_COMMAND} -E make_directory "${_ef_pkg}"
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${_ef_py} "${_ef_pkg}"
    DEPENDS ${_ef_py} COMMENT "python/echoflow/*.py -> ${_ef_pkg}")
  add_dependencies(_core echoflow_py)
  if(EF_BUILD_TESTS)
    add_test(NAME python_tests
             COMMAND "${Python_EXECUTABLE}" -m pytest -q -p no:cacheprovider
                     --rootdir "${CMAKE_SOURCE_DIR}" -c "${CMAKE_SOURCE_DIR}/pyproject.toml"
                     "${CMAKE_SOURCE_DIR}/tests/python"
             WORKING_DIRECTORY "${CMAKE_BINARY_DIR}")
    set_tests_properties(python_tests PROPERTIES
      ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python" LABELS python
      COST 41)  # the longest test: ctest -j starts it first (tests/CMakeLists.txt)
  endif()
endif()
