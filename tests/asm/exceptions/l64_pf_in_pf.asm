; #PF while delivering #PF -> #DF (SDM Vol. 3A 6.15 Interrupt 8, Table 6-5: page fault
; followed by page fault): the #PF gate uses IST2, which points at unmapped memory, so
; pushing the #PF frame page-faults. The #DF (gate on the current stack) gets error 0,
; and CR2 holds the address of the failed push.
; start: long64
; load: 0x100000
; expect: exc.count=1 exc[0].vector=8 exc[0].error=0 exc[0].cr2=0xFFFFFFFFFF8  -- UNMAPPED - 8: the first push (SS)
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
UNMAPPED equ 0x100000000000             ; PML4 slot 32: not present
    call long64_setup
    mov rax, UNMAPPED
    mov [rel l64_tss + 44], rax         ; IST2
    or byte [EXC_IDT + 14 * 16 + 4], 2  ; #PF gate: IST2
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rax, UNMAPPED
    mov rax, [rax]                      ; #PF -> push to IST2 -> #PF -> #DF
a0: mov ebx, 0x600d
    hlt
%include "long64.inc"
