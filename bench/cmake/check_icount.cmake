# ctest check of a benchmark's hosted build under bench_icount: iterations 1, 2 and 3
# must retire the same number of instructions each (the peer harness relies on it),
# equal to PER_ITER when given.
#   cmake -DICOUNT=bench_icount -DHOST=NAME-host.elf [-DPER_ITER=n] -P check_icount.cmake
set(counts "")
foreach(n 1 2 3)
  execute_process(COMMAND ${ICOUNT} ${HOST} ${n} OUTPUT_VARIABLE c RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ICOUNT} ${HOST} ${n} failed (${rc})")
  endif()
  list(APPEND counts ${c})
endforeach()
list(GET counts 0 c1)
list(GET counts 1 c2)
list(GET counts 2 c3)
math(EXPR d1 "${c2} - ${c1}")
math(EXPR d2 "${c3} - ${c2}")
message("counts for n = 1, 2, 3: ${counts}; per iteration ${d1}")
if(NOT d1 EQUAL d2)
  message(FATAL_ERROR "iterations retire different counts: ${d1} then ${d2}")
endif()
if(DEFINED PER_ITER AND NOT d1 EQUAL PER_ITER)
  message(FATAL_ERROR "${d1} instructions per iteration, expected ${PER_ITER}")
endif()
