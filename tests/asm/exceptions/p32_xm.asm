; #XM (SDM Vol. 3A 6.15, Interrupt 19): an unmasked SIMD floating-point exception faults
; with vector 19 when CR4.OSXMMEXCPT=1 and #UD when it is 0; MXCSR.ZE is set either way.
; start: prot32
; load: 0x100000
; expect: exc.count=2
; expect: exc[0].vector=19 exc[0].error=0 exc[0].rip=@f0
; expect: exc[1].vector=6 exc[1].rip=@f1
; expect: mem32[0xA000]&0x4=0x4
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    ldmxcsr [mxcsr]
    xorps xmm1, xmm1
    movss xmm0, [one]
    mov dword [EXC_RESUME], a0
f0: divss xmm0, xmm1
a0: stmxcsr [0xA000]
    ldmxcsr [mxcsr]
    mov eax, cr4
    and eax, ~(1 << 10)                 ; OSXMMEXCPT = 0
    mov cr4, eax
    mov dword [EXC_RESUME], a1
f1: divss xmm0, xmm1
a1: hlt
mxcsr: dd 0x1D80                        ; ZM (bit 9) clear
one:   dd 1.0
%include "prot32.inc"
