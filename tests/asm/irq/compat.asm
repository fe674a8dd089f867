; External interrupts and NMIs in compatibility mode (SDM Vol. 3A 6.14): delivered
; through the 64-bit IDT with a 64-bit frame (SS:RSP always pushed), CS 0x40 and the
; 32-bit EIP; the handler's IRETQ returns to compatibility mode.
; start: long64
; load: 0x100000
; irq: 0x30 at @l0
; nmi: at @l1
; expect: exc.count=2
; expect: exc[0].vector=0x30 exc[0].rip=@l0 exc[0].cs=0x40 exc[0].ss=0x10 exc[0].rsp=0x7FFF0
; expect: exc[1].vector=2 exc[1].rip=@l1 exc[1].cs=0x40
; expect: rsi=2 rbx=0x600d mode=compat
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov rsp, 0x7FFF0
    push 0x40
    lea rax, [rel compat]
    push rax
    retfq
bits 32
compat:
    xor esi, esi
    sti
    nop
l0: inc esi
l1: inc esi
    mov ebx, 0x600d
    hlt
%include "long64.inc"
