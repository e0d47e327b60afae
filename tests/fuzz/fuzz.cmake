# The libFuzzer targets (issue 7; the secluded-args reader, issue 12), included from cmake/parts/load.cmake. Only with clang and
# -DRRSYNC_FUZZ=ON, which scripts/fuzz sets in its own build dir (build-fuzz) together with
# -DRRSYNC_SANITIZE=ON and CMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link (coverage for the whole
# core; the fuzzer's main is linked into this target only).
option(RRSYNC_FUZZ "Build the libFuzzer target (needs clang)" OFF)
# The sanitizers linked into the fuzz targets besides libFuzzer. scripts/fuzz builds two trees:
# build-fuzz with address,undefined (and RRSYNC_SANITIZE=ON, so the core is checked too), and
# build-fuzz-fast with undefined only, for speed; see scripts/fuzz and docs/PERFORMANCE.md.
set(RRSYNC_FUZZ_SANITIZERS "address,undefined" CACHE STRING
    "Sanitizers of the fuzz targets, -fsanitize= syntax (empty: libFuzzer alone)")
if(RRSYNC_FUZZ_SANITIZERS)
  set(rrsync_fuzz_flags "-fsanitize=fuzzer,${RRSYNC_FUZZ_SANITIZERS}")
else()
  set(rrsync_fuzz_flags "-fsanitize=fuzzer")
endif()
if(RRSYNC_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RRSYNC_FUZZ needs clang: configure with CXX=clang++ CC=clang")
  endif()
  add_executable(rrsync_fuzz_decision ${RRSYNC_LOAD_ROOT}/tests/fuzz/fuzz_decision.cc)
  target_compile_options(rrsync_fuzz_decision PRIVATE ${rrsync_fuzz_flags})
  target_link_options(rrsync_fuzz_decision PRIVATE ${rrsync_fuzz_flags})
  target_link_libraries(rrsync_fuzz_decision PRIVATE rrsync_core)
  add_executable(rrsync_fuzz_secluded_args ${RRSYNC_LOAD_ROOT}/tests/fuzz/fuzz_secluded_args.cc)
  target_compile_options(rrsync_fuzz_secluded_args PRIVATE ${rrsync_fuzz_flags})
  target_link_options(rrsync_fuzz_secluded_args PRIVATE ${rrsync_fuzz_flags})
  target_link_libraries(rrsync_fuzz_secluded_args PRIVATE rrsync_core)
endif()
