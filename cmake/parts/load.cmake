# Speed and robustness (issue 7): the load and hostile-input tests, the decision benchmarks and
# the fuzz target. Benchmarks and fuzzing are run by scripts/bench and scripts/fuzz, not by ctest.
get_filename_component(RRSYNC_LOAD_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

# Hostile input through the built binary: huge commands, many words, deep globs, every byte.
add_executable(rrsync_hostile_input_tests ${RRSYNC_LOAD_ROOT}/tests/hostile_input_test.cc
  ${RRSYNC_LOAD_ROOT}/tests/test_support.cc)
target_link_libraries(rrsync_hostile_input_tests PRIVATE rrsync_core GTest::gtest_main)
target_compile_definitions(rrsync_hostile_input_tests PRIVATE
  RRSYNC_BINARY="$<TARGET_FILE:rrsync>" ARGV_RECORDER="$<TARGET_FILE:argv_recorder>")
add_dependencies(rrsync_hostile_input_tests rrsync argv_recorder)
gtest_discover_tests(rrsync_hostile_input_tests DISCOVERY_TIMEOUT 60
  PROPERTIES TIMEOUT 120 LABELS robustness)

# 50 concurrent sessions and the lock, through the throwaway sshd of cmake/parts/e2e.cmake.
if(TARGET rrsync_sshd_harness)
  add_executable(rrsync_load_tests ${RRSYNC_LOAD_ROOT}/tests/load_test.cc)
  target_link_libraries(rrsync_load_tests PRIVATE rrsync_sshd_harness GTest::gtest_main)
  target_compile_definitions(rrsync_load_tests PRIVATE RRSYNC_BINARY="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_load_tests rrsync)
  gtest_discover_tests(rrsync_load_tests DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT 180 LABELS "e2e;robustness")
endif()

include(${RRSYNC_LOAD_ROOT}/bench/bench.cmake)
include(${RRSYNC_LOAD_ROOT}/tests/fuzz/fuzz.cmake)
