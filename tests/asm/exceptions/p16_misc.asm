; More exception classes in 16-bit protected mode through 16-bit interrupt gates (SDM
; Vol. 3A 6.15, 6.12.1): single-step #DB (trap), INT3 and INTO (traps), BOUND (#BR),
; UD2, #NM (CR0.TS), #MF, #XM, and a #DF (a #GP whose gate is not present) whose 16-bit
; frame holds error code 0; an NMI through the 16-bit gate 2. IPs are offsets in the
; 16-bit segment.
; start: prot32
; load: 0x100000
; nmi: at @a8
; expect: exc.count=10
; expect: exc[0].vector=1 exc[0].rip=@s1-0x100000 exc[0].cs=0x60
; expect: exc[1].vector=3 exc[1].rip=@b1-0x100000
; expect: exc[2].vector=4 exc[2].rip=@o1-0x100000
; expect: exc[3].vector=5 exc[3].rip=@f3-0x100000
; expect: exc[4].vector=6 exc[4].rip=@f4-0x100000
; expect: exc[5].vector=7 exc[5].rip=@f5-0x100000
; expect: exc[6].vector=16 exc[6].rip=@f6-0x100000
; expect: exc[7].vector=19 exc[7].rip=@f7-0x100000
; expect: exc[8].vector=8 exc[8].error=0 exc[8].rip=@f8-0x100000
; expect: exc[9].vector=2 exc[9].rip=@a8-0x100000 exc[9].cs=0x60
; expect: double_faults=1 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
%define OFS(x) ((x) - $$)
    call prot32_setup
    call exc_install16p
    mov word [EXC_IDT + 1 * 8], OFS(db16)    ; #DB: drop TF, then the stub
    mov word [EXC_IDT + 7 * 8], OFS(nm16)    ; #NM: CLTS, then the stub
    mov eax, cr4
    or eax, 3 << 9                      ; OSFXSR, OSXMMEXCPT
    mov cr4, eax
    jmp 0x60:OFS(p16)
bits 16
p16:
    pushf
    or word [esp], 0x100
    popf
    nop
s1: int3
b1: mov al, 0x7F
    add al, 1
    into
o1: mov word [EXC_RESUME], OFS(a3)
    mov ax, 20
f3: bound ax, [dword bounds]
a3: mov word [EXC_RESUME], OFS(a4)
f4: ud2
a4: mov eax, cr0
    or eax, 0x28                        ; TS, NE
    mov cr0, eax
f5: fninit                              ; #NM, runs again after CLTS
    fldcw [dword fcw]
    fld1
    fldz
    fdivp st1, st0
    mov word [EXC_RESUME], OFS(a6)
f6: fwait
a6: fnclex
    ldmxcsr [dword mxcsr]
    xorps xmm1, xmm1
    movss xmm0, [dword one]
    mov word [EXC_RESUME], OFS(a7)
f7: divss xmm0, xmm1
a7: and byte [dword EXC_IDT + 13 * 8 + 5], 0x7F ; #GP gate not present
    mov word [EXC_RESUME], OFS(a8)
    mov ax, 0x1000
f8: mov es, ax                          ; #GP -> #NP -> #DF
a8: jmp dword 0x08:done
db16:
    and word [esp + 4], ~0x100
    jmp exc_stubs16p + 1 * 16
nm16:
    clts
    jmp exc_stubs16p + 7 * 16
bits 32
done:
    mov ebx, 0x600d
    hlt
align 4
bounds: dw 0, 10
fcw:    dw 0x037B
mxcsr:  dd 0x1D80
one:    dd 1.0
%macro P32_GDT_EXTRA 0
    DESC LOAD, 0xFFFF, 0x9A, 0x0        ; 0x60 16-bit code, ring 0, base = load address
%endmacro
%include "prot32.inc"
%include "exc16p.inc"
