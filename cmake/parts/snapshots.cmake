# Snapshot mode (issue 13): rrsync's side (src/snapshot_store.*) in the core, and its tests.
get_filename_component(RRSYNC_SNAPSHOTS_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
target_sources(rrsync_core PRIVATE ${RRSYNC_SNAPSHOTS_ROOT}/src/snapshot_store.cc)
