; More v8086-mode exceptions (SDM Vol. 3A 20.2.7, 20.3.1, 6.15): the 64 KiB real-mode
; segment limit still applies: a word at DS:FFFF is #GP(0), at SS:FFFF (BP-based) is
; #SS(0); with CR0.TS an x87 instruction is #NM; with CR0.NE an unmasked x87 exception
; is #MF on the next waiting instruction; with CR4.OSXMMEXCPT an unmasked SSE exception
; is #XM. Each leaves v8086 mode to ring 0 through the IDT (frame EFLAGS.VM = 1).
; The test is loaded at 0x20000 so v8086 IPs are label - 0x20000 (CS 0x2000).
; start: prot32
; load: 0x20000
; expect: exc.count=5
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0-0x20000
; expect: exc[0].rflags&0x20000=0x20000
; expect: exc[1].vector=12 exc[1].error=0 exc[1].rip=@f1-0x20000 exc[1].ss=0x5000
; expect: exc[2].vector=7 exc[2].rip=@f2-0x20000
; expect: exc[3].vector=16 exc[3].rip=@f3-0x20000
; expect: exc[4].vector=19 exc[4].rip=@f4-0x20000
; expect: mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov eax, 6                          ; #UD ends the test
    mov ebx, finish
    call exc_set_handler32
    mov eax, 7                          ; #NM: clear TS, then the recorder
    mov ebx, nm_handler
    call exc_set_handler32
    fninit
    fldcw [fcw]
    ldmxcsr [mxcsr]
    mov eax, cr0
    or eax, 0x28                        ; TS, NE
    mov cr0, eax
    mov eax, cr4
    or eax, 3 << 9                      ; OSFXSR, OSXMMEXCPT
    mov cr4, eax
    push dword 0                        ; GS
    push dword 0                        ; FS
    push dword 0x2000                   ; DS = CS
    push dword 0                        ; ES
    push dword 0x5000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x20002                  ; EFLAGS: VM, IOPL = 0
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd

bits 16
v86:
    mov dword [es:EXC_RESUME], a0 - $$
f0: mov ax, [0xFFFF]
a0: mov dword [es:EXC_RESUME], a1 - $$
    mov bp, 0xFFFF
f1: mov ax, [bp]
a1:
f2: fld1                                ; TS: #NM; the handler clears TS, FLD1 runs again
    fldz
    fdivp st1, st0                      ; 1/0: pending
    mov dword [es:EXC_RESUME], a3 - $$
f3: fwait
a3: fnclex
    xorps xmm1, xmm1
    movss xmm0, [one - $$]
    mov dword [es:EXC_RESUME], a4 - $$
f4: divss xmm0, xmm1
a4: ud2
align 4
one: dd 1.0

bits 32
nm_handler:
    clts
    jmp exc_stubs32 + 7 * 16
finish:
    mov ebx, 0x600d
    hlt
fcw:   dw 0x037B
mxcsr: dd 0x1D80
%include "prot32.inc"
