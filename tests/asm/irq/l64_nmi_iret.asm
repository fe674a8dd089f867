; NMI blocking ends at the next IRET, whichever handler executes it (SDM Vol. 3A 6.7.1):
; an NMI raised in the NMI handler waits, but when that handler takes a #UD, the #UD
; handler's IRETQ unblocks NMIs and the pending NMI nests into the NMI handler right
; away (frame RIP = where the #UD handler returned). The outer NMI then finishes.
; 64-bit mode, no IST (a nested NMI on an IST stack would overwrite the outer frame).
; start: long64
; load: 0x100000
; nmi: at @n0
; nmi: at @n_in
; expect: exc.count=3
; expect: exc[0].vector=6 exc[0].rip=@ud_i
; expect: exc[1].vector=2 exc[1].rip=@after_ud
; expect: exc[2].vector=2 exc[2].rip=@n0
; expect: mem32[0xA000]=2 rsi=1 nmi_blocked=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov eax, 2
    lea rbx, [rel nmi_handler]
    call exc_set_handler64
    xor esi, esi
n0: inc esi
    mov ebx, 0x600d
    hlt

nmi_handler:
    inc dword [0xA000]
    cmp dword [0xA000], 1
    jne nmi_log                         ; the nested one: just log
n_in:
    nop                                 ; the second NMI arrives here: blocked
    lea rax, [rel after_ud]
    mov [EXC_RESUME], rax
ud_i:
    ud2
after_ud:
nmi_log:
    jmp exc_stubs64 + 2 * 16
%include "long64.inc"
