# Benchmarks (issue 7), included from cmake/parts/load.cmake. Built on demand
# (`--target rrsync_benchmarks`), run by scripts/bench; never part of ctest.
find_package(benchmark QUIET)
if(benchmark_FOUND)
  add_executable(rrsync_decision_bench EXCLUDE_FROM_ALL ${RRSYNC_LOAD_ROOT}/bench/decision_bench.cc)
  target_link_libraries(rrsync_decision_bench PRIVATE rrsync_core benchmark::benchmark)
endif()

# The stand-in rsync of the exec and files benchmarks (it exits at once); the time-to-exec
# benchmark's stand-in, which stamps the clock as it starts, its timer, and the floor any
# gatekeeper that waits for rsync pays (a spawn and a wait, nothing else).
add_executable(exit_at_once EXCLUDE_FROM_ALL ${RRSYNC_LOAD_ROOT}/bench/exit_at_once.c)
add_executable(exec_stamp EXCLUDE_FROM_ALL ${RRSYNC_LOAD_ROOT}/bench/exec_stamp.c)
add_executable(exec_timer EXCLUDE_FROM_ALL ${RRSYNC_LOAD_ROOT}/bench/exec_timer.c)
add_executable(null_gatekeeper EXCLUDE_FROM_ALL ${RRSYNC_LOAD_ROOT}/bench/null_gatekeeper.c)
if(RRSYNC_SANITIZE)
  foreach(t exit_at_once exec_stamp exec_timer null_gatekeeper)
    target_compile_options(${t} PRIVATE -fno-sanitize=all)
    target_link_options(${t} PRIVATE -fno-sanitize=all)
  endforeach()
endif()

# Times whole sessions through the throwaway sshd: rrsync against a plain forced rsync.
if(TARGET rrsync_sshd_harness)
  add_executable(rrsync_e2e_bench EXCLUDE_FROM_ALL ${RRSYNC_LOAD_ROOT}/bench/e2e_bench.cc)
  target_link_libraries(rrsync_e2e_bench PRIVATE rrsync_sshd_harness)
  target_compile_definitions(rrsync_e2e_bench PRIVATE RRSYNC_BINARY="$<TARGET_FILE:rrsync>")
  add_dependencies(rrsync_e2e_bench rrsync)
endif()

add_custom_target(rrsync_benchmarks)
foreach(t rrsync_decision_bench rrsync_e2e_bench rrsync argv_recorder exit_at_once exec_stamp exec_timer
    null_gatekeeper)
  if(TARGET ${t})
    add_dependencies(rrsync_benchmarks ${t})
  endif()
endforeach()
