# The confinement of the rsync that rrsync starts (src/sandbox/: the plan and its layers). libc only.
find_package(Threads REQUIRED)
get_filename_component(RRSYNC_SANDBOX_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

add_library(rrsync_sandbox STATIC
  ${RRSYNC_SANDBOX_ROOT}/src/sandbox/sandbox.cc
  ${RRSYNC_SANDBOX_ROOT}/src/sandbox/runtime_files.cc
  ${RRSYNC_SANDBOX_ROOT}/src/sandbox/mount_view.cc
  ${RRSYNC_SANDBOX_ROOT}/src/sandbox/capabilities.cc
  ${RRSYNC_SANDBOX_ROOT}/src/sandbox/landlock_ruleset.cc
  ${RRSYNC_SANDBOX_ROOT}/src/sandbox/syscall_filter.cc
)
target_include_directories(rrsync_sandbox PUBLIC ${RRSYNC_SANDBOX_ROOT}/src
                                                 ${RRSYNC_SANDBOX_ROOT}/src/sandbox)

# A hijacked rsync: attempts every escape and reports each result.
add_executable(hostile_rsync ${RRSYNC_SANDBOX_ROOT}/tests/tools/hostile_rsync.cc)

# EnterSandbox then exec, the way rrsync does it; usable as rsync's -e program.
add_executable(sandbox_exec ${RRSYNC_SANDBOX_ROOT}/tests/tools/sandbox_exec.cc)
# rrsync_core for StartRsyncInView, as rrsync starts rsync.
target_link_libraries(sandbox_exec PRIVATE rrsync_core)

add_executable(rrsync_sandbox_tests
  ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_test.cc
  ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_test_support.cc
  ${RRSYNC_SANDBOX_ROOT}/tests/accounts/process_account.cc)
target_include_directories(rrsync_sandbox_tests PRIVATE ${RRSYNC_SANDBOX_ROOT}/tests/accounts)
target_link_libraries(rrsync_sandbox_tests PRIVATE rrsync_sandbox GTest::gtest_main Threads::Threads)
target_compile_definitions(rrsync_sandbox_tests PRIVATE
  HOSTILE_RSYNC="$<TARGET_FILE:hostile_rsync>"
  SANDBOX_EXEC="$<TARGET_FILE:sandbox_exec>")
add_dependencies(rrsync_sandbox_tests hostile_rsync sandbox_exec)
# The hostile stand-in runs through the real rrsync once it is built alongside.
if(TARGET rrsync)
  target_compile_definitions(rrsync_sandbox_tests PRIVATE RRSYNC_BINARY="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_sandbox_tests rrsync)
endif()
gtest_discover_tests(rrsync_sandbox_tests DISCOVERY_TIMEOUT 60)

# The hostile stand-in as root, through the real rrsync: every root attack (kernel, host, other
# processes, metadata outside DIR) denied, and reached with -sandbox=off.
if(TARGET rrsync)
  add_executable(rrsync_sandbox_root_tests
    ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_root_test.cc
    ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_test_support.cc)
  target_link_libraries(rrsync_sandbox_root_tests PRIVATE GTest::gtest_main)
  target_compile_definitions(rrsync_sandbox_root_tests PRIVATE
    HOSTILE_RSYNC="$<TARGET_FILE:hostile_rsync>"
    RRSYNC_BINARY="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_sandbox_root_tests hostile_rsync rrsync)
  gtest_discover_tests(rrsync_sandbox_root_tests DISCOVERY_TIMEOUT 60)
endif()

# Each layer on its own: capabilities, the system-call policy, and the kernel matrix.
add_executable(rrsync_sandbox_layers_tests ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_layers_test.cc)
target_link_libraries(rrsync_sandbox_layers_tests PRIVATE rrsync_sandbox GTest::gtest_main)
target_compile_definitions(rrsync_sandbox_layers_tests PRIVATE
  SANDBOX_EXEC="$<TARGET_FILE:sandbox_exec>")
add_dependencies(rrsync_sandbox_layers_tests sandbox_exec)
gtest_discover_tests(rrsync_sandbox_layers_tests DISCOVERY_TIMEOUT 60)

# Legitimate root transfers (-aHAXS, devices with DIR "/") through the real rrsync and its default
# sandbox, the real rsync client at the other end: the trees must stay identical.
if(TARGET rrsync)
  add_executable(rrsync_root_transfer_tests
    ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_root_transfer_test.cc
    ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_test_support.cc)
  target_link_libraries(rrsync_root_transfer_tests PRIVATE GTest::gtest_main)
  target_compile_definitions(rrsync_root_transfer_tests PRIVATE
    RRSYNC_BINARY="$<TARGET_FILE:rrsync>"
    SANDBOX_EXEC="$<TARGET_FILE:sandbox_exec>")
  add_dependencies(rrsync_root_transfer_tests rrsync sandbox_exec)
  gtest_discover_tests(rrsync_root_transfer_tests DISCOVERY_TIMEOUT 60)
endif()
