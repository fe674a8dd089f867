; CR4.LA57 cannot change while IA-32e mode is active (SDM Vol. 3A 4.1.1, 2.5; Vol. 2A MOV
; CR): setting it under 4-level paging is #GP(0) and leaves CR4 as it was; other CR4 bits
; written in the same MOV do not take effect either (the write is not committed).
; start: long64
; load: 0x100000
; expect: exc.count=2
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0
; expect: exc[1].vector=13 exc[1].error=0 exc[1].rip=@f1
; expect: cr4&0x1000=0 cr4&0x10000=0 rdx=rcx rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov rcx, cr4
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rax, rcx
    or eax, 1 << 12                     ; LA57
f0: mov cr4, rax
a0: lea rax, [rel a1]
    mov [EXC_RESUME], rax
    mov rax, rcx
    or eax, (1 << 12) | (1 << 16)       ; LA57 | FSGSBASE: neither lands
f1: mov cr4, rax
a1: mov rdx, cr4
    mov ebx, 0x600d
    hlt
%include "long64.inc"
