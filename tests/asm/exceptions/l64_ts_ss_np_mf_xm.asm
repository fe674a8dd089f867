; The remaining exception classes in 64-bit mode (SDM Vol. 3A 6.15; 6.14.5; Vol. 2A INT n,
; IA-32e): an IST stack slot beyond the TSS limit -> #TS(TSS selector) (EXT = 0 for INT n);
; INT n to a not-present gate -> #NP(vector * 8 + 2); MOV SS with a not-present segment
; -> #SS(selector); an unmasked x87 exception -> #MF on the next waiting x87 instruction;
; an unmasked SIMD exception with CR4.OSXMMEXCPT = 1 -> #XM. Every frame is 64-bit with
; SS:RSP.
; start: long64
; load: 0x100000
; expect: exc.count=5
; expect: exc[0].vector=10 exc[0].error=0x50 exc[0].rip=@f0 exc[0].cs=0x08
; expect: exc[0].rsp=0x80000 exc[0].ss=0x10
; expect: exc[1].vector=11 exc[1].error=0x182 exc[1].rip=@f1
; expect: exc[2].vector=12 exc[2].error=0x48 exc[2].rip=@f2
; expect: exc[3].vector=16 exc[3].error=0 exc[3].rip=@f3
; expect: exc[4].vector=19 exc[4].error=0 exc[4].rip=@f4
; expect: tr=0x50 ss=0x10 mem32[0xA000]&0x4=0x4
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov eax, 0x21
    lea rbx, [rel never]
    call exc_set_handler64
    mov byte [EXC_IDT + 0x21 * 16 + 4], 1    ; IST1
    mov ax, 0x50
    ltr ax                              ; a TSS whose limit ends before IST1
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
f0: int 0x21
a0: and byte [EXC_IDT + 0x30 * 16 + 5], 0x7F ; P = 0
    lea rax, [rel a1]
    mov [EXC_RESUME], rax
f1: int 0x30
a1: lea rax, [rel a2]
    mov [EXC_RESUME], rax
    mov ax, 0x48
f2: mov ss, ax
a2: fninit
    fldcw [rel fcw]
    fld1
    fldz
    fdivp st1, st0
    lea rax, [rel a3]
    mov [EXC_RESUME], rax
f3: fwait
a3: fnclex
    mov rax, cr4
    or eax, 3 << 9                      ; OSFXSR, OSXMMEXCPT
    mov cr4, rax
    ldmxcsr [rel mxcsr]
    xorps xmm1, xmm1
    movss xmm0, [rel one]
    lea rax, [rel a4]
    mov [EXC_RESUME], rax
f4: divss xmm0, xmm1
a4: stmxcsr [0xA000]
    mov ebx, 0x600d
    hlt
never:
    hlt
fcw:   dw 0x037B                        ; ZM clear
mxcsr: dd 0x1D80                        ; ZM clear
one:   dd 1.0
%macro L64_GDT_EXTRA 0
    DESC ABS(small_tss), 0x23, 0x89, 0x0 ; 0x50 64-bit TSS: RSP0-2 only, no IST1
    dq 0
%endmacro
align 16
small_tss:
    dd 0
    dq L64_RING0_SP
    times 0x60 db 0
%include "long64.inc"
