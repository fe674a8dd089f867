; Entry of the hosted (Linux user-space) build of a benchmark: the same bench_run
; object code as the kernel, run natively to get the reference result and, under
; bench_icount, the exact instruction count. Linux x86-64 process entry: [rsp] = argc,
; argv follows.

bits 64
default rel

extern host_main

section .text
global _start
_start:
    mov rdi, [rsp]              ; argc
    lea rsi, [rsp + 8]          ; argv
    and rsp, -16
    call host_main
    mov edi, eax
    mov eax, 231                ; exit_group
    syscall
    hlt
