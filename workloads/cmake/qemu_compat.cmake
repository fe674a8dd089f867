# ctest driver of workload.qemu_compat: each kernel runs under QEMU's pc machine (TCG,
# `-kernel`, isa-debug-exit at 0xF4) and under nestsim; both must give the same serial
# output, byte for byte, and the same exit status. QEMU is required: without it the test
# FAILS (a compatibility check that cannot run has not passed).
#   cmake -DNESTSIM=exe -DCASES="a.elf;b.elf!APPEND!MODULE" -DWORK=dir -P qemu_compat.cmake
# A case is an image, optionally with '!'-separated command-line arguments (QEMU
# -append, nestsim --append) and one module "FILE ARGS" (QEMU -initrd, nestsim --module).
cmake_minimum_required(VERSION 3.20)
find_program(QEMU NAMES qemu-system-x86_64)
if(NOT QEMU)
  message(FATAL_ERROR "workload.qemu_compat: qemu-system-x86_64 is not installed; install "
                      "the Debian package qemu-system-x86 (scripts/install-deps.sh)")
endif()
file(MAKE_DIRECTORY ${WORK})
set(failed "")
foreach(case IN LISTS CASES)
  string(REPLACE "!" ";" parts "${case}")
  list(GET parts 0 elf)
  list(LENGTH parts n)
  set(q_args "")
  set(n_args "")
  if(n GREATER 1)
    list(GET parts 1 append)
    list(APPEND q_args -append "${append}")
    list(APPEND n_args --append "${append}")
  endif()
  if(n GREATER 2)
    list(GET parts 2 module)
    list(APPEND q_args -initrd "${module}")
    list(APPEND n_args --module "${module}")
  endif()
  cmake_path(GET elf STEM name)
  set(q_out ${WORK}/${name}.qemu.serial)
  set(n_out ${WORK}/${name}.nestsim.serial)
  file(REMOVE ${q_out} ${n_out})
  # The vendor is nestsim's (PLATFORM.md: GenuineIntel), so kernels that print it agree.
  execute_process(
    COMMAND ${QEMU} -machine pc,accel=tcg -cpu qemu64,vendor=GenuineIntel -m 128
            -display none -monitor none -parallel none -nic none -no-reboot
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial file:${q_out}
            -kernel ${elf} ${q_args}
    RESULT_VARIABLE q_rc OUTPUT_VARIABLE q_log ERROR_VARIABLE q_log TIMEOUT 120)
  execute_process(
    COMMAND ${NESTSIM} run -q --serial-out ${n_out} ${n_args} ${elf}
    RESULT_VARIABLE n_rc OUTPUT_VARIABLE n_log ERROR_VARIABLE n_log TIMEOUT 120)
  set(q_text "")
  set(n_text "")
  if(EXISTS ${q_out})
    file(READ ${q_out} q_text)
  endif()
  if(EXISTS ${n_out})
    file(READ ${n_out} n_text)
  endif()
  message("${name}: QEMU status ${q_rc}, nestsim status ${n_rc}")
  if(NOT q_rc STREQUAL n_rc)
    message("${name}: exit status differs: QEMU ${q_rc}, nestsim ${n_rc}\n"
            "QEMU said: ${q_log}\nnestsim said: ${n_log}")
    list(APPEND failed ${name})
  elseif(NOT q_text STREQUAL n_text)
    message("${name}: serial output differs (${q_out} vs ${n_out})\n"
            "--- QEMU:\n${q_text}\n--- nestsim:\n${n_text}")
    list(APPEND failed ${name})
  elseif(q_text STREQUAL "")
    message("${name}: no serial output at all (QEMU: ${q_log})")
    list(APPEND failed ${name})
  endif()
endforeach()
# QEMU only: the boot stub on a CPU without long mode (qemu32) says so on COM1 and ends
# the run with RT_EXIT_BOOT (status 127) instead of hanging.
list(GET CASES 0 first)
string(REPLACE "!" ";" first "${first}")
list(GET first 0 elf)
execute_process(
  COMMAND ${QEMU} -machine pc,accel=tcg -cpu qemu32 -m 128 -display none -monitor none
          -parallel none -nic none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
          -serial file:${WORK}/no_long_mode.serial -kernel ${elf}
  RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log TIMEOUT 60)
set(text "")
if(EXISTS ${WORK}/no_long_mode.serial)
  file(READ ${WORK}/no_long_mode.serial text)
endif()
if(NOT rc STREQUAL "127" OR NOT text MATCHES "no long mode")
  message("no long mode (QEMU -cpu qemu32): status ${rc}, output '${text}', QEMU: ${log}")
  list(APPEND failed no_long_mode)
endif()

if(failed)
  message(FATAL_ERROR "workload.qemu_compat: QEMU and nestsim disagree on: ${failed}")
endif()
