; 64-bit entry stub of every workload.
;
; Entry state (the boot contract in workloads/README.md): 64-bit mode, CPL 0, flat
; segments, identity paging, interrupts off, BSS already zeroed by the loader.
; We do not rely on the loader's RSP: the stack is our own, in BSS, so a workload
; never depends on what lies below 0x80000.

bits 64
default rel

extern main
extern rt_serial_init
extern rt_exit

section .text.entry progbits alloc exec nowrite align=16
global _start
_start:
    lea rsp, [stack_top]        ; 16-byte aligned: the SysV ABI wants RSP+8 aligned
    xor ebp, ebp                ; at function entry, which `call` produces
    call rt_serial_init
    call main
    mov edi, eax                ; main's return value is the exit value
    call rt_exit
.hang:                          ; rt_exit does not return
    cli
    hlt
    jmp .hang

section .bss nobits alloc noexec write align=16
    resb 64 * 1024
stack_top:
