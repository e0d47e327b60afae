# Tests that kill the mutation survivors of issue 14 (item 9): the short-option letters against
# upstream's, each cap at its limit and one over, and the signal state rsync starts with. They
# run in the unit test binary; the pinner's races are in tests/path_pinner_test.cc.
get_filename_component(RRSYNC_SURVIVORS_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
target_sources(rrsync_unit_tests PRIVATE
  ${RRSYNC_SURVIVORS_ROOT}/tests/short_options_test.cc
  ${RRSYNC_SURVIVORS_ROOT}/tests/caps_test.cc
  ${RRSYNC_SURVIVORS_ROOT}/tests/runner_signals_test.cc)
