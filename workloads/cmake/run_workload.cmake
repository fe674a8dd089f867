# ctest driver of nestsim_add_workload_test():
#   cmake -DNESTSIM=exe -DELF=kernel.elf -DSTATUS=n [-DEXPECT=regex] [-DARGS=a|b]
#         -P run_workload.cmake
# ARGS: nestsim options separated by '|' (an argument may contain spaces).
string(REPLACE "|" ";" ARGS "${ARGS}")
execute_process(COMMAND ${NESTSIM} run ${ARGS} ${ELF}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc STREQUAL STATUS)
  message(FATAL_ERROR "nestsim run ${ARGS} ${ELF}: exit status ${rc}, expected ${STATUS}")
endif()
if(DEFINED EXPECT AND NOT EXPECT STREQUAL "" AND NOT "${out}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "nestsim run ${ELF}: output does not match '${EXPECT}'")
endif()
