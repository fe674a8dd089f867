; An external interrupt in real mode (SDM Vol. 3A 20.1.4): delivered through the IVT with
; a FLAGS, CS, IP frame (IP of the instruction not yet run), IF cleared in the handler;
; the IRET restores IF. A second interrupt raised while the first handler runs (IF = 0)
; waits until that IRET. An NMI (IF = 0 does not mask it) goes through IVT entry 2.
; start: real
; load: 0x1000
; stack: 0x7000
; irq: 0x30 at @l0
; irq: 0x31 at @exc_common16
; nmi: at @l1
; expect: exc.count=3
; expect: exc[0].vector=0x30 exc[0].rip=@l0 exc[0].cs=0 exc[0].rflags&0x200=0x200
; expect: exc[0].rsp=0x7000
; expect: exc[1].vector=0x31 exc[1].rip=@l0
; expect: exc[2].vector=2 exc[2].rip=@l1 exc[2].rflags&0x200=0
; expect: irq.acks=2 rsi&0xffff=1 rbx&0xffff=0x600d mode=real
; expect-stop: halted
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    call exc_install16
    xor si, si
    sti
    nop
l0: inc si
    cli
l1: mov bx, 0x600d
    hlt
%include "exc16.inc"
