cmake_minimum_required(VERSION 3.20)
# Build-time check of nestsim_add_workload(): the image has a Multiboot v1 header
# (magic 0x1BADB002, flags, checksum with magic + flags + checksum == 0 mod 2^32) on
# a 4-byte boundary within its first 8 KiB (Multiboot 0.6.96, 3.1.1), where loaders
# look for it.
#   cmake -DIMAGE=kernel.elf -P check_multiboot.cmake
file(READ ${IMAGE} hex LIMIT 8192 HEX)
string(LENGTH "${hex}" len)
set(found -1)
set(base 0)  # hex digits dropped from the front of `hex` so far
while(TRUE)
  string(FIND "${hex}" "02b0ad1b" at)
  if(at EQUAL -1)
    break()
  endif()
  math(EXPR abs "${base} + ${at}")  # in hex digits: byte offset abs/2, 4-byte aligned?
  math(EXPR rem "${abs} % 8")
  string(SUBSTRING "${hex}" ${at} 24 words)
  string(LENGTH "${words}" wl)
  if(rem EQUAL 0 AND wl EQUAL 24)
    set(vals "")
    foreach(i 0 8 16)
      string(SUBSTRING "${words}" ${i} 8 w)
      string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1" w "${w}")  # little-endian
      list(APPEND vals ${w})
    endforeach()
    list(GET vals 0 m)
    list(GET vals 1 f)
    list(GET vals 2 c)
    math(EXPR sum "(${m} + ${f} + ${c}) & 0xFFFFFFFF")
    if(sum EQUAL 0)
      math(EXPR found "${abs} / 2")
      break()
    endif()
  endif()
  math(EXPR next "${at} + 2")
  string(SUBSTRING "${hex}" ${next} -1 hex)
  math(EXPR base "${base} + ${next}")
endwhile()
if(found EQUAL -1)
  message(FATAL_ERROR "${IMAGE}: no Multiboot v1 header in the first 8 KiB")
endif()
