# End-to-end tests with the clients people run (issue 12): rsnapshot, rsync 3.2.7 as client and
# as server, BackupPC 4's default RsyncArgs. Same sshd harness as cmake/parts/e2e.cmake (this file
# sorts after it, so rrsync_sshd_harness exists).
get_filename_component(RRSYNC_CLIENTS_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

# rsync 3.2.7 from Debian bookworm, unpacked (never installed) by scripts/old-rsync at configure
# time. Without network the tests that need it skip with a reason.
set(RRSYNC_OLD_RSYNC_BINARY "" CACHE FILEPATH
    "rsync 3.2.7 for the end-to-end tests (default: unpack Debian's into the build dir)")
if(NOT RRSYNC_OLD_RSYNC_BINARY)
  set(rrsync_old_rsync_dir ${CMAKE_BINARY_DIR}/old-rsync)
  if(NOT EXISTS ${rrsync_old_rsync_dir}/usr/bin/rsync)
    execute_process(COMMAND ${RRSYNC_CLIENTS_ROOT}/scripts/old-rsync ${rrsync_old_rsync_dir}
                    RESULT_VARIABLE rrsync_old_rsync_result OUTPUT_QUIET ERROR_QUIET)
    if(NOT rrsync_old_rsync_result EQUAL 0)
      message(STATUS "rsync 3.2.7: scripts/old-rsync failed; its end-to-end tests will skip")
    endif()
  endif()
  if(EXISTS ${rrsync_old_rsync_dir}/usr/bin/rsync)
    set(rrsync_old_rsync ${rrsync_old_rsync_dir}/usr/bin/rsync)
  endif()
else()
  set(rrsync_old_rsync ${RRSYNC_OLD_RSYNC_BINARY})
endif()

add_executable(rrsync_clients_tests ${RRSYNC_CLIENTS_ROOT}/tests/e2e/clients_test.cc)
target_link_libraries(rrsync_clients_tests PRIVATE rrsync_sshd_harness GTest::gtest_main)
target_compile_definitions(rrsync_clients_tests PRIVATE RRSYNC_UNDER_TEST="$<TARGET_FILE:rrsync>"
                           OLD_RSYNC_BINARY="${rrsync_old_rsync}")
add_dependencies(rrsync_clients_tests rrsync)
gtest_discover_tests(rrsync_clients_tests DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES
  PROPERTIES TIMEOUT 180 LABELS e2e)
