# nestsim_add_workload(): build a freestanding bare-metal kernel that nestsim, QEMU
# (`-kernel`) and, through scripts/bench/bochs/, Bochs run: a Multiboot v1 image
# (workloads/README.md). The code is 64-bit, linked as ELF64 (NAME.elf64: symbols and
# debug information, for gdb/addr2line) and converted to an ELF32 container (NAME.elf)
# with `objcopy -O elf32-i386`, because multiboot loaders (QEMU's among them) refuse
# ELF64 images; the boot stub's 32-bit entry is the ELF32 entry point.
#
# Workloads are compiled with the system gcc and nasm by custom commands, never with
# CMAKE_C_COMPILER and the project's flags: a sanitizer or fuzz preset must not leak
# into guest code, and guest code must be the same in every preset.
#
#   nestsim_add_workload(NAME
#     SOURCES  a.c b.asm ...        # .c (gcc) and .asm (nasm -f elf64)
#     [DEFINES  FOO=1 BAR ...]      # -D for both gcc and nasm
#     [INCLUDE_DIRS dir ...]
#     [C_FLAGS  -O3 ...]            # extra gcc flags, after the defaults
#     [OUTPUT_NAME name]            # default NAME; output is <binary dir>/<name>.elf
#     [OBJECT_DEPENDS file ...]     # extra inputs of every compile (generated headers)
#     [NO_RUNTIME]                  # do not link workloads/lib (boot stub, serial, traps,
#                                   # exit): the sources bring a multiboot header named
#                                   # multiboot_header in section .text.boot and _start
#     [HOSTED])                     # a Linux user-space program instead of a kernel:
#                                   # no runtime, no link.ld (the sources bring _start)
#
# Creates target NAME (in ALL) and sets its properties NESTSIM_ELF (the bootable image,
# <name>.elf; for HOSTED the Linux executable) and NESTSIM_ELF64 (<name>.elf64).
# Objects (and their gcc/nasm dependency files) go to <binary dir>/NAME.dir/.

find_program(NESTSIM_WORKLOAD_CC NAMES gcc REQUIRED)
find_program(NESTSIM_NASM NAMES nasm REQUIRED)
find_program(NESTSIM_OBJCOPY NAMES objcopy REQUIRED)

# Settings are INTERNAL cache entries so the function sees them from any directory.
set(_lib ${CMAKE_CURRENT_LIST_DIR}/../lib)
cmake_path(NORMAL_PATH _lib)
set(NESTSIM_WORKLOAD_LIB_DIR ${_lib} CACHE INTERNAL "workloads/lib")

# -mgeneral-regs-only: guest code never touches x87/SSE state, so the boot paths need
# not enable it and benchmark figures measure the integer core.
set(NESTSIM_WORKLOAD_C_FLAGS
  -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration
  -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only
  -mcmodel=small -fno-stack-protector -fcf-protection=none
  -fno-asynchronous-unwind-tables -fno-omit-frame-pointer
  CACHE INTERNAL "gcc flags of workloads")
set(NESTSIM_WORKLOAD_LD_FLAGS
  -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack
  -Wl,-z,max-page-size=4096
  CACHE INTERNAL "link flags of workloads")
set(NESTSIM_WORKLOAD_RUNTIME_SOURCES
  ${NESTSIM_WORKLOAD_LIB_DIR}/boot.asm
  ${NESTSIM_WORKLOAD_LIB_DIR}/start.c
  ${NESTSIM_WORKLOAD_LIB_DIR}/rt.c
  ${NESTSIM_WORKLOAD_LIB_DIR}/mem.c
  ${NESTSIM_WORKLOAD_LIB_DIR}/trap.c
  ${NESTSIM_WORKLOAD_LIB_DIR}/trap_entry.asm
  CACHE INTERNAL "workloads/lib sources")

# Compiles one source to an object; returns the object path in OUT_VAR.
function(_nestsim_workload_object OUT_VAR NAME SRC)
  cmake_parse_arguments(PARSE_ARGV 3 O "" "" "DEFINES;INCLUDE_DIRS;C_FLAGS;OBJECT_DEPENDS")
  cmake_path(ABSOLUTE_PATH SRC BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
  cmake_path(RELATIVE_PATH SRC BASE_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE rel)
  string(REPLACE "../" "__/" rel "${rel}")
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.dir/${rel}.o)
  cmake_path(GET obj PARENT_PATH objdir)
  file(MAKE_DIRECTORY ${objdir})
  set(defs "")
  foreach(d IN LISTS O_DEFINES)
    list(APPEND defs -D${d})
  endforeach()
  set(incs -I${NESTSIM_WORKLOAD_LIB_DIR})
  foreach(i IN LISTS O_INCLUDE_DIRS)
    cmake_path(ABSOLUTE_PATH i BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
    list(APPEND incs -I${i})
  endforeach()
  if(SRC MATCHES "\\.c$")
    add_custom_command(OUTPUT ${obj}
      COMMAND ${NESTSIM_WORKLOAD_CC} ${NESTSIM_WORKLOAD_C_FLAGS} ${O_C_FLAGS} ${defs} ${incs}
              -MD -MF ${obj}.d -c ${SRC} -o ${obj}
      DEPENDS ${SRC} ${O_OBJECT_DEPENDS}
      DEPFILE ${obj}.d
      COMMENT "Workload ${NAME}: gcc ${rel}"
      VERBATIM COMMAND_EXPAND_LISTS)
  elseif(SRC MATCHES "\\.(asm|nasm)$")
    # nasm -I wants a trailing slash on old versions; give it one.
    list(TRANSFORM incs APPEND "/")
    add_custom_command(OUTPUT ${obj}
      COMMAND ${NESTSIM_NASM} -f elf64 -g -F dwarf -w+all ${defs} ${incs}
              -MD ${obj}.d -MT ${obj} -o ${obj} ${SRC}
      DEPENDS ${SRC} ${O_OBJECT_DEPENDS}
      DEPFILE ${obj}.d
      COMMENT "Workload ${NAME}: nasm ${rel}"
      VERBATIM COMMAND_EXPAND_LISTS)
  else()
    message(FATAL_ERROR "nestsim_add_workload(${NAME}): unknown source type: ${SRC}")
  endif()
  set(${OUT_VAR} ${obj} PARENT_SCOPE)
endfunction()

function(nestsim_add_workload NAME)
  cmake_parse_arguments(PARSE_ARGV 1 W "NO_RUNTIME;HOSTED" "OUTPUT_NAME"
                        "SOURCES;DEFINES;INCLUDE_DIRS;C_FLAGS;OBJECT_DEPENDS")
  if(W_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nestsim_add_workload(${NAME}): unknown arguments: ${W_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT W_SOURCES)
    message(FATAL_ERROR "nestsim_add_workload(${NAME}): no SOURCES")
  endif()
  if(NOT W_OUTPUT_NAME)
    set(W_OUTPUT_NAME ${NAME})
  endif()
  set(srcs ${W_SOURCES})
  if(NOT W_NO_RUNTIME AND NOT W_HOSTED)
    list(APPEND srcs ${NESTSIM_WORKLOAD_RUNTIME_SOURCES})
  endif()
  list(REMOVE_DUPLICATES srcs)  # a runtime file also named in SOURCES is built once
  set(objs "")
  foreach(src IN LISTS srcs)
    _nestsim_workload_object(obj ${NAME} ${src}
      DEFINES ${W_DEFINES} INCLUDE_DIRS ${W_INCLUDE_DIRS} C_FLAGS ${W_C_FLAGS}
      OBJECT_DEPENDS ${W_OBJECT_DEPENDS})
    list(APPEND objs ${obj})
  endforeach()
  set(script ${NESTSIM_WORKLOAD_LIB_DIR}/link.ld)
  set(script_flags -T ${script})
  if(W_HOSTED)
    set(script "")
    set(script_flags "")
  endif()
  set(elf ${CMAKE_CURRENT_BINARY_DIR}/${W_OUTPUT_NAME}.elf)
  if(W_HOSTED)
    add_custom_command(OUTPUT ${elf}
      COMMAND ${NESTSIM_WORKLOAD_CC} ${NESTSIM_WORKLOAD_LD_FLAGS} -Wl,-Map,${elf}.map
              ${objs} -o ${elf}
      DEPENDS ${objs}
      COMMENT "Workload ${NAME}: link ${W_OUTPUT_NAME}.elf"
      VERBATIM COMMAND_EXPAND_LISTS)
    add_custom_target(${NAME} ALL DEPENDS ${elf})
    set_target_properties(${NAME} PROPERTIES NESTSIM_ELF ${elf} NESTSIM_ELF64 ${elf})
    return()
  endif()
  set(elf64 ${CMAKE_CURRENT_BINARY_DIR}/${W_OUTPUT_NAME}.elf64)
  add_custom_command(OUTPUT ${elf64}
    COMMAND ${NESTSIM_WORKLOAD_CC} ${NESTSIM_WORKLOAD_LD_FLAGS} ${script_flags}
            -Wl,-Map,${elf64}.map ${objs} -o ${elf64}
    DEPENDS ${objs} ${script}
    COMMENT "Workload ${NAME}: link ${W_OUTPUT_NAME}.elf64"
    VERBATIM COMMAND_EXPAND_LISTS)
  # The ELF32 container, and a check that its multiboot header is where loaders look.
  add_custom_command(OUTPUT ${elf}
    COMMAND ${NESTSIM_OBJCOPY} -O elf32-i386 ${elf64} ${elf}.tmp
    COMMAND ${CMAKE_COMMAND} -DIMAGE=${elf}.tmp
            -P ${NESTSIM_WORKLOAD_LIB_DIR}/../cmake/check_multiboot.cmake
    COMMAND ${CMAKE_COMMAND} -E rename ${elf}.tmp ${elf}
    DEPENDS ${elf64} ${NESTSIM_WORKLOAD_LIB_DIR}/../cmake/check_multiboot.cmake
    COMMENT "Workload ${NAME}: ${W_OUTPUT_NAME}.elf (multiboot ELF32)"
    VERBATIM)
  add_custom_target(${NAME} ALL DEPENDS ${elf})
  set_target_properties(${NAME} PROPERTIES NESTSIM_ELF ${elf} NESTSIM_ELF64 ${elf64})
endfunction()

# nestsim_add_workload_test(TEST_NAME WORKLOAD_TARGET [STATUS n] [EXPECT regex]
#                           [TIMEOUT s] [ARGS nestsim options...])
# A ctest test that runs `nestsim run [ARGS] <elf>` and checks the exit status (default
# 1: the kernel exited with value 0) and, when given, that the output matches EXPECT.
# Does nothing when tests are off or the nestsim executable is not part of the build.
function(nestsim_add_workload_test TEST_NAME WORKLOAD_TARGET)
  cmake_parse_arguments(PARSE_ARGV 2 T "" "STATUS;EXPECT;TIMEOUT" "ARGS")
  if(NOT NESTSIM_TESTS OR NOT TARGET nestsim)
    return()
  endif()
  if(NOT DEFINED T_STATUS)
    set(T_STATUS 1)
  endif()
  if(NOT DEFINED T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  get_target_property(elf ${WORKLOAD_TARGET} NESTSIM_ELF)
  list(JOIN T_ARGS "|" args)  # one argument through add_test; the driver splits it
  add_test(NAME ${TEST_NAME}
    COMMAND ${CMAKE_COMMAND} -DNESTSIM=$<TARGET_FILE:nestsim> -DELF=${elf}
            -DSTATUS=${T_STATUS} -DEXPECT=${T_EXPECT} "-DARGS=${args}"
            -P ${NESTSIM_WORKLOAD_LIB_DIR}/../cmake/run_workload.cmake)
  set_tests_properties(${TEST_NAME} PROPERTIES LABELS workload TIMEOUT ${T_TIMEOUT})
endfunction()
