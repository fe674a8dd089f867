; HLT woken by events (SDM Vol. 3A 6.8.1; Vol. 2A HLT): an interrupt (IF = 1) or an NMI
; (also with IF = 0) that arrives during the halt is delivered with the EIP of the
; instruction after the HLT in the frame, and the handler's IRET resumes there.
; start: prot32
; load: 0x100000
; irq: 0x30 at @h1
; nmi: at @h2
; expect: exc.count=2
; expect: exc[0].vector=0x30 exc[0].rip=@h1 exc[0].cs=0x08
; expect: exc[1].vector=2 exc[1].rip=@h2 exc[1].rflags&0x200=0
; expect: rbx=0x600d rsi=2 rip=@h3 irq.acks=1
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    xor esi, esi
    sti
    hlt
h1: inc esi
    cli
    hlt
h2: inc esi
    mov ebx, 0x600d
    hlt                                 ; nothing left to wake it: the run ends
h3:
%include "prot32.inc"
