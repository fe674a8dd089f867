; int_loop: a tight 64-bit integer loop with an exactly known instruction count.
;
; uint64_t bench_run(uint64_t n)      (SysV ABI: n in RDI, result in RAX)
;
; Retires exactly 7*n + 9 instructions for n >= 1 (6 before the loop, 7 per
; iteration, 3 after it including RET) and 9 for n = 0. The result depends on every
; iteration, so a wrong flag or carry anywhere shows up in it.

bits 64
default rel

section .text
global bench_run
bench_run:
    mov rcx, rdi                ; 1: iteration counter
    mov eax, 1                  ; 2
    mov edx, 0x9E3779B9         ; 3
    xor r8d, r8d                ; 4
    test rcx, rcx               ; 5
    jz .done                    ; 6
.loop:                          ; 7 instructions per iteration
    add rax, rcx
    xor rdx, rax
    rol rax, 1
    sub r8, rdx
    and rdx, r8
    dec rcx
    jnz .loop
.done:
    lea rax, [rax + r8]         ; 3 after the loop
    xor rax, rdx
    ret

; Instructions per iteration and fixed overhead, for the harness's report.
section .rodata
global bench_insns_per_iter, bench_insns_fixed
bench_insns_per_iter: dq 7
bench_insns_fixed:    dq 9
