; #DF from compatibility mode (SDM Vol. 3A 6.15 Interrupt 8, Table 6-5): a #GP whose gate
; is not present raises #NP while delivering it (contributory + contributory), which
; becomes a double fault: vector 8 with error code 0 through the 64-bit IDT, frame RIP at
; the instruction that raised the #GP, CS 0x40. No #GP or #NP is delivered.
; start: long64
; load: 0x100000
; expect: exc.count=1
; expect: exc[0].vector=8 exc[0].error=0 exc[0].rip=@f0 exc[0].cs=0x40
; expect: exceptions[8]=1 double_faults=1 rbx=0x600d mode=compat
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    and byte [EXC_IDT + 13 * 16 + 5], 0x7F  ; #GP gate: P = 0
    push 0x40
    lea rax, [rel compat]
    push rax
    retfq
bits 32
compat:
    mov dword [EXC_RESUME], a0
    mov ax, 0x1000
f0: mov ds, ax                          ; #GP(0x1000) -> #NP(0x6B) -> #DF
a0: mov ebx, 0x600d
    hlt
%include "long64.inc"
