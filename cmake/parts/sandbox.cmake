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

add_executable(rrsync_sandbox_tests ${RRSYNC_SANDBOX_ROOT}/tests/sandbox_test.cc)
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
