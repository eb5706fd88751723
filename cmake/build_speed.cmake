# build_speed.cmake — build time: precompiled headers, and Catch2's runner at -O1. Included at
# the end of CMakeLists.txt, once every target exists. Only build time depends on it:
# -DSCRATCHNET_PCH=OFF (or the standard CMAKE_DISABLE_PRECOMPILE_HEADERS=ON) builds the same
# programs without precompiled headers, and so checks that every file includes what it uses.
#
# What a cold build spends its time on (docs/TESTS.md has the timings): most files are small, and the
# cost is in the header-only libraries they include, parsed again in every file: Catch2 in each
# test file, CLI11 in each subcommand, nlohmann/json in the training code and the readers. A
# precompiled header holds them parsed once per target. Loading one costs about 0.5 s of CPU,
# so a file gets it only where it includes those libraries; and a file that does not use CLI11
# must not get it: CLI11 defines validator objects in every file that includes it, whose code
# is compiled again each time (about 5 s at -O3), with or without a precompiled header.

# Catch2's own code (compiled in tests/main.cpp, CATCH_CONFIG_MAIN) is the largest file of a cold
# build: 24 s of CPU at -O3, 15 s at -O1. It runs the tests and prints the results, nothing that
# needs -O3 (the tests' own files and the code they test keep the build type's flags).
if(TARGET scratchnet_tests)
  set_source_files_properties(tests/main.cpp PROPERTIES COMPILE_OPTIONS -O1)
endif()

option(SCRATCHNET_PCH "Precompile the heavy third-party headers once per target" ON)
if(NOT SCRATCHNET_PCH OR CMAKE_DISABLE_PRECOMPILE_HEADERS)
  return()
endif()

# The standard headers most files use: cheap each, but included everywhere.
set(SN_PCH_STD <algorithm> <cmath> <cstdint> <cstring> <functional> <map> <memory> <string> <utility> <vector>)

# sn_including(OUT LIBRARY_REGEX): a regex matching an #include of the library or of any header of
# ours that includes it, directly or through another of our headers.
function(sn_including out library)
  file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/engine/*.h
       ${PROJECT_SOURCE_DIR}/models/*.h ${PROJECT_SOURCE_DIR}/kernels/*.h ${PROJECT_SOURCE_DIR}/tools/*.h
       ${PROJECT_SOURCE_DIR}/tests/*.h)
  set(regex "${library}")
  set(found)
  set(changed ON)
  while(changed)
    set(changed OFF)
    foreach(h ${headers})
      if(NOT h IN_LIST found)
        file(STRINGS ${PROJECT_SOURCE_DIR}/${h} hits REGEX "#include [<\"](${regex})[>\"]" LIMIT_COUNT 1)
        if(hits)
          list(APPEND found ${h})
          string(REPLACE "." "\\." h ${h})
          string(APPEND regex "|${h}")
          set(changed ON)
        endif()
      endif()
    endforeach()
  endwhile()
  set(${out} "#include [<\"](${regex})[>\"]" PARENT_SCOPE)
endfunction()

# sn_pch_only_where(TARGET REGEX): files of TARGET whose text does not match REGEX, or that have
# compile options of their own (-fno-math-errno, -fno-sanitize=shift: a header precompiled without
# them cannot be loaded there; clang refuses, gcc ignores it), are compiled without the header.
function(sn_pch_only_where target regex)
  get_target_property(sources ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  foreach(src ${sources})
    get_filename_component(path ${src} ABSOLUTE BASE_DIR ${dir})
    get_source_file_property(options ${path} COMPILE_OPTIONS)
    set(use OFF)
    if(EXISTS ${path} AND NOT options)
      file(STRINGS ${path} hits REGEX "${regex}" LIMIT_COUNT 1)
      if(hits)
        set(use ON)
      endif()
    endif()
    if(NOT use)
      set_source_files_properties(${path} TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()

# The libraries: nlohmann/json, in the files that include it (weight files, models, the
# experiment's runs and reports).
sn_including(SN_JSON_INCLUDE "nlohmann/json\\.hpp")
foreach(t scratchnet_engine scratchnet_models scratchnet_experiment)
  target_precompile_headers(${t} PRIVATE ${SN_PCH_STD} <nlohmann/json.hpp>)
  sn_pch_only_where(${t} "${SN_JSON_INCLUDE}")
endforeach()

# The command-line tool (one file per subcommand, most of them with CLI11). Not the benchmark
# programs: each is one file, where a precompiled header saves nothing, and the tool's own one
# cannot be reused there (it is built with the tool's definitions, e.g. SCRATCHNET_ONNX, and GCC
# refuses it with -Winvalid-pch).
sn_including(SN_CLI_INCLUDE "CLI/CLI\\.hpp")
target_precompile_headers(scratchnet PRIVATE ${SN_PCH_STD} <nlohmann/json.hpp> <CLI/CLI.hpp>)
sn_pch_only_where(scratchnet "${SN_CLI_INCLUDE}")

# The tests: every file includes Catch2 (tests/helpers.h).
if(TARGET scratchnet_tests)
  target_precompile_headers(scratchnet_tests PRIVATE ${SN_PCH_STD} <nlohmann/json.hpp> <catch2/catch.hpp>)
  # main.cpp defines CATCH_CONFIG_MAIN before including Catch2, which compiles Catch2's own code
  # there: a precompiled catch.hpp included first would leave the program without main().
  set_source_files_properties(tests/main.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endif()

# ccache caches files compiled with a precompiled header only with these sloppiness settings
# (ccache's manual, "Precompiled headers"). Neither matters here: no file uses __DATE__ or
# __TIME__, and ccache still hashes the precompiled header itself.
if(CCACHE_PROGRAM)
  set(SN_CCACHE_WRAPPER ${CMAKE_CURRENT_BINARY_DIR}/ccache-pch)
  file(WRITE ${SN_CCACHE_WRAPPER}.in "#!/bin/sh\nCCACHE_SLOPPINESS=pch_defines,time_macros exec \"${CCACHE_PROGRAM}\" \"$@\"\n")
  file(COPY_FILE ${SN_CCACHE_WRAPPER}.in ${SN_CCACHE_WRAPPER} ONLY_IF_DIFFERENT)
  file(CHMOD ${SN_CCACHE_WRAPPER} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
       WORLD_READ WORLD_EXECUTE)
  foreach(t scratchnet_engine scratchnet_models scratchnet_experiment scratchnet scratchnet_tests ${SN_BENCH_TARGETS})
    if(TARGET ${t})
      set_target_properties(${t} PROPERTIES CXX_COMPILER_LAUNCHER ${SN_CCACHE_WRAPPER})
    endif()
  endforeach()
endif()
