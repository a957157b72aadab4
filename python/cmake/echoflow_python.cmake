# Hooked into the root project by pyproject.toml (CMAKE_PROJECT_echoflow_INCLUDE): CMake
# includes this file at the end of the root's project() call. It defers python/src/extension.cmake
# to the end of the root CMakeLists.txt, so the extension links the `echoflow` target exactly as
# the C++ tools do, without editing the root CMakeLists.txt.
#
# Why not a python/CMakeLists.txt that add_subdirectory()s the root: the root globs and includes
# through CMAKE_SOURCE_DIR, which would then point at python/. And add_subdirectory() cannot be
# deferred, so the extension is an include()d file rather than a subdirectory.
# Deferred arguments are expanded when the call runs: the path is baked in through EVAL.
get_filename_component(_ef_python_ext "${CMAKE_CURRENT_LIST_DIR}/../src/extension.cmake" ABSOLUTE)
cmake_language(EVAL CODE
  "cmake_language(DEFER DIRECTORY \"${CMAKE_CURRENT_SOURCE_DIR}\" CALL include \"${_ef_python_ext}\")")
