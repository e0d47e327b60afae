# Issue 6: the config file (-config, -module, -modules), module routing and the audit log.
# These sources are part of the forced command's core: libc and libstdc++ only.
get_filename_component(RRSYNC_CONFIG_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

# (The sources themselves are in rrsync_core, in the top-level CMakeLists.txt.)

# Unit tests of the parser, the router and the log lines, and the built binary run the way sshd
# runs it (a stand-in ssh for the real rsync client, a test syslog socket), plus transfers
# through the real sshd of the end-to-end harness (cmake/parts/e2e.cmake).
add_executable(rrsync_config_tests
  ${RRSYNC_CONFIG_ROOT}/tests/config_test.cc
  ${RRSYNC_CONFIG_ROOT}/tests/module_route_test.cc
  ${RRSYNC_CONFIG_ROOT}/tests/audit_log_test.cc
  ${RRSYNC_CONFIG_ROOT}/tests/config_binary_test.cc
  ${RRSYNC_CONFIG_ROOT}/tests/config_e2e_test.cc
  ${RRSYNC_CONFIG_ROOT}/tests/test_support.cc
)
target_include_directories(rrsync_config_tests PRIVATE ${RRSYNC_CONFIG_ROOT}/tests)
target_link_libraries(rrsync_config_tests PRIVATE rrsync_core rrsync_sshd_harness GTest::gtest_main)
target_compile_definitions(rrsync_config_tests PRIVATE
  RRSYNC_BINARY="$<TARGET_FILE:rrsync>"
  ARGV_RECORDER="$<TARGET_FILE:argv_recorder>"
  HOSTILE_RSYNC="$<TARGET_FILE:hostile_rsync>"
  SOURCE_DIR="${RRSYNC_CONFIG_ROOT}")
# hostile_rsync: cmake/parts/sandbox.cmake's stand-in for a hijacked rsync.
add_dependencies(rrsync_config_tests rrsync argv_recorder hostile_rsync)
gtest_discover_tests(rrsync_config_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
