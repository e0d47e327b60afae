# End-to-end tests (issue 4): the built rrsync as the forced command of a throwaway sshd on
# 127.0.0.1, driven by the real ssh and rsync clients. The harness (tests/e2e/sshd_harness.*) is a
# library of its own so other test binaries (rrsync-admin's) can start the same sshd.
get_filename_component(RRSYNC_E2E_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

# To compare with upstream, point this at the Python /usr/bin/rrsync: the suite then expects its
# "<argv[0]> error:" prefix and skips what only this rrsync has (rrsync-probe, -sandbox).
set(RRSYNC_E2E_REFERENCE_BINARY "" CACHE FILEPATH
    "Run the end-to-end suite against this rrsync instead of the one built here")

# macOS's openrsync client (issue 12): its end-to-end test is skipped when there is none.
set(RRSYNC_OPENRSYNC_BINARY "" CACHE FILEPATH
    "An openrsync binary for the end-to-end test (default: /usr/local/bin/openrsync if present)")

add_library(rrsync_sshd_harness STATIC ${RRSYNC_E2E_ROOT}/tests/e2e/sshd_harness.cc
  ${RRSYNC_E2E_ROOT}/tests/accounts/process_account.cc)
# unique_fd.h is header-only: the harness links nothing of the core.
target_include_directories(rrsync_sshd_harness PUBLIC
  ${RRSYNC_E2E_ROOT}/tests/e2e ${RRSYNC_E2E_ROOT}/src ${RRSYNC_E2E_ROOT}/tests/accounts)

add_executable(rrsync_e2e_tests ${RRSYNC_E2E_ROOT}/tests/e2e/e2e_test.cc)
target_link_libraries(rrsync_e2e_tests PRIVATE rrsync_sshd_harness GTest::gtest_main)
if(RRSYNC_E2E_REFERENCE_BINARY)
  target_compile_definitions(rrsync_e2e_tests PRIVATE
    RRSYNC_UNDER_TEST="${RRSYNC_E2E_REFERENCE_BINARY}" RRSYNC_E2E_REFERENCE=1)
else()
  target_compile_definitions(rrsync_e2e_tests PRIVATE RRSYNC_UNDER_TEST="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_e2e_tests rrsync)
endif()
if(RRSYNC_OPENRSYNC_BINARY)
  target_compile_definitions(rrsync_e2e_tests PRIVATE OPENRSYNC_BINARY="${RRSYNC_OPENRSYNC_BINARY}")
endif()
# Each test starts its own sshd on its own port, so ctest -j can run them side by side.
gtest_discover_tests(rrsync_e2e_tests DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES
  PROPERTIES TIMEOUT 120 LABELS e2e)
