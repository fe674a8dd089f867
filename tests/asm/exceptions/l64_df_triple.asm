; 64-bit #DF and triple fault (SDM Vol. 3A 6.15 Interrupt 8, Table 6-5): #GP whose gate is
; not present -> #NP during delivery -> #DF (error 0); then with the #DF gate not present
; too, the next fault shuts the processor down.
; start: long64
; load: 0x100000
; expect: exc.count=1 exc[0].vector=8 exc[0].error=0 rbx=1
; expect-stop: shutdown
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    and byte [EXC_IDT + 13 * 16 + 5], 0x7F
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rcx, 0x8000000000000000
    mov rax, [rcx]                      ; #GP -> #NP -> #DF
a0: mov ebx, 1
    and byte [EXC_IDT + 8 * 16 + 5], 0x7F
    mov rax, [rcx]                      ; #GP -> #NP -> #DF -> #NP: shutdown
    mov ebx, 2
    hlt
%include "long64.inc"
