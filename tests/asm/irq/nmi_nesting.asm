; NMI blocking (SDM Vol. 3A 6.7.1): delivery of an NMI blocks further NMIs until the next
; IRET; a second NMI raised inside the first handler stays pending and is delivered right
; after that IRET, before the interrupted instruction runs (so both frames hold the same
; EIP). NMIs are not masked by IF = 0.
; start: prot32
; load: 0x100000
; nmi: at @n0
; nmi: at @exc_common32      -- the first handler is running
; expect: exc.count=2
; expect: exc[0].vector=2 exc[0].error=0 exc[0].rip=@n0
; expect: exc[1].vector=2 exc[1].rip=@n0
; expect: nmi_blocked=0 rsi=1 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    xor esi, esi
    cli
n0: inc esi
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
