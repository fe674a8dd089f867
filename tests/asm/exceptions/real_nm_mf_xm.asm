; Floating-point exceptions in real mode (SDM Vol. 3A 20.1.4, 6.15; Vol. 1 8.7, 11.5): with
; CR0.TS = 1 an x87 instruction is #NM (fault); with CR0.NE = 1 an unmasked x87 zero
; divide is #MF on the next waiting instruction; with CR4.OSXMMEXCPT = 1 an unmasked SSE
; zero divide is #XM. All go through the IVT with a FLAGS, CS, IP frame (no error code).
; start: real
; load: 0x1000
; stack: 0x7000
; expect: exc.count=3
; expect: exc[0].vector=7 exc[0].rip=@f0 exc[0].cs=0
; expect: exc[1].vector=16 exc[1].rip=@f1
; expect: exc[2].vector=19 exc[2].rip=@f2
; expect: mem32[0xA000]&0x4=0x4 rbx=0x600d mode=real
; expect-stop: halted
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    call exc_install16
    mov eax, cr0
    and eax, ~4                         ; EM = 0
    or eax, 0x2A                        ; MP, TS, NE
    mov cr0, eax
    mov eax, cr4
    or eax, 3 << 9                      ; OSFXSR, OSXMMEXCPT
    mov cr4, eax
    mov word [EXC_RESUME], a0
f0: fninit
a0: clts
    fninit
    fldcw [fcw]
    fld1
    fldz
    fdivp st1, st0
    mov word [EXC_RESUME], a1
f1: fwait
a1: fnclex
    ldmxcsr [mxcsr]
    xorps xmm1, xmm1
    movss xmm0, [one]
    mov word [EXC_RESUME], a2
f2: divss xmm0, xmm1
a2: stmxcsr [0xA000]
    mov bx, 0x600d
    hlt
fcw:   dw 0x037B
mxcsr: dd 0x1D80
one:   dd 1.0
%include "exc16.inc"
