# Snapshot mode (issue 13): its tests. rrsync's side (src/snapshot_store.*) is in the core
# (CMakeLists.txt), so that rrsync links whichever parts a build includes.
get_filename_component(RRSYNC_SNAPSHOTS_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

# Through the real sshd and rsync client (tests/e2e/sshd_harness.*), as root and as an ordinary
# account; needs the e2e part's harness.
if(TARGET rrsync_sshd_harness)
  add_executable(rrsync_snapshots_e2e_tests ${RRSYNC_SNAPSHOTS_ROOT}/tests/e2e/snapshots_e2e_test.cc)
  target_link_libraries(rrsync_snapshots_e2e_tests PRIVATE rrsync_sshd_harness GTest::gtest_main)
  target_compile_definitions(rrsync_snapshots_e2e_tests PRIVATE
    RRSYNC_UNDER_TEST="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_snapshots_e2e_tests rrsync)
  gtest_discover_tests(rrsync_snapshots_e2e_tests DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT 180 LABELS e2e)
endif()

# The hostile stand-in in snapshot mode, as root, through the real rrsync (sandbox part's tools).
if(TARGET hostile_rsync)
  add_executable(rrsync_snapshot_hostile_tests
    ${RRSYNC_SNAPSHOTS_ROOT}/tests/snapshot_hostile_test.cc
    ${RRSYNC_SNAPSHOTS_ROOT}/tests/sandbox_test_support.cc)
  target_link_libraries(rrsync_snapshot_hostile_tests PRIVATE GTest::gtest_main)
  target_compile_definitions(rrsync_snapshot_hostile_tests PRIVATE
    HOSTILE_RSYNC="$<TARGET_FILE:hostile_rsync>"
    RRSYNC_BINARY="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_snapshot_hostile_tests hostile_rsync rrsync)
  # prune on the btrfs level's read-only subvolumes (the admin part's binary, when built).
  if(TARGET rrsync-admin)
    target_compile_definitions(rrsync_snapshot_hostile_tests PRIVATE
      RRSYNC_ADMIN_BINARY="$<TARGET_FILE:rrsync-admin>")
    add_dependencies(rrsync_snapshot_hostile_tests rrsync-admin)
  endif()
  gtest_discover_tests(rrsync_snapshot_hostile_tests DISCOVERY_TIMEOUT 60)
endif()

# The snapshot store on real trees (merging a hand-made upper layer needs root; skipped without).
add_executable(rrsync_snapshot_store_tests ${RRSYNC_SNAPSHOTS_ROOT}/tests/snapshot_store_test.cc
  ${RRSYNC_SNAPSHOTS_ROOT}/tests/snapshot_policy_test.cc ${RRSYNC_SNAPSHOTS_ROOT}/tests/test_support.cc)
target_link_libraries(rrsync_snapshot_store_tests PRIVATE rrsync_core GTest::gtest_main)
gtest_discover_tests(rrsync_snapshot_store_tests DISCOVERY_TIMEOUT 60)
