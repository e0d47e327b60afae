# The differential test against upstream rrsync (/usr/bin/rrsync from Debian's rsync package): our
# rrsync and a copy of upstream's, both with the argv recorder in rsync's place, must take the same
# decision on every captured client command and every hostile command, under every flag row.
find_package(Threads REQUIRED)

add_executable(rrsync_differential_tests
  tests/differential/corpus.cc
  tests/differential/harness.cc
  tests/differential/differential_test.cc
)
target_include_directories(rrsync_differential_tests PRIVATE tests/differential)
target_link_libraries(rrsync_differential_tests PRIVATE GTest::gtest_main Threads::Threads)
target_compile_definitions(rrsync_differential_tests PRIVATE
  RRSYNC_BINARY="$<TARGET_FILE:rrsync>"
  ARGV_RECORDER="$<TARGET_FILE:argv_recorder>"
  CORPUS_DIR="${CMAKE_SOURCE_DIR}/tests/data/corpus"
  UPSTREAM_RRSYNC="/usr/bin/rrsync")
add_dependencies(rrsync_differential_tests rrsync argv_recorder)
# The comparison takes 2-4 minutes on 2 cores; the rest is quick.
# COST: ctest -j starts the highest cost first; on a fresh clone (no cost data yet) the
# comparison would otherwise start halfway and be the tail of the whole run.
gtest_discover_tests(rrsync_differential_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 COST 10000)
