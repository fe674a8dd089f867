; Faults while delivering an external interrupt carry EXT = 1 in the error code (SDM Vol.
; 3A 6.13): a not-present gate is #NP(vector * 8 + IDT(2) + EXT(1)); a vector beyond the
; IDT limit is #GP(vector * 8 + 3). The faults are delivered with the interrupted EIP.
; An interrupt that arrives with IF = 0 during HLT does not wake the CPU: the run ends
; halted with the interrupt still pending at the controller.
; start: prot32
; load: 0x100000
; irq: 0x30 at @l0
; irq: 0x50 at @l1
; irq: 0x31 at @l2
; expect: exc.count=2
; expect: exc[0].vector=11 exc[0].error=0x183 exc[0].rip=@l0
; expect: exc[1].vector=13 exc[1].error=0x283 exc[1].rip=@l1
; expect: irq.acks=2 irq.pending=1 rip=@l2 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    and byte [EXC_IDT + 0x30 * 8 + 5], 0x7F ; gate 0x30: P = 0
    sti
    nop
l0: nop
l1: nop
    mov ebx, 0x600d
    cli
    hlt
l2: nop                                 ; never runs (the CPU stays halted)
%include "prot32.inc"
