; The remaining exception classes in compatibility mode, each through the 64-bit IDT with
; a 64-bit frame (SDM Vol. 3A 6.14, 6.15): single-step #DB (POPF setting TF traps after
; the next instruction), INT3 (#BP trap), #NM with CR0.TS, #MF, #XM, and #AC(0) from
; ring-3 32-bit code (CR0.AM, EFLAGS.AC) on RSP0 with the ring-3 SS:ESP in the frame.
; start: long64
; load: 0x100000
; expect: exc.count=6
; expect: exc[0].vector=1 exc[0].rip=@s1 exc[0].cs=0x40
; expect: exc[1].vector=3 exc[1].rip=@b1 exc[1].cs=0x40
; expect: exc[2].vector=7 exc[2].rip=@f2
; expect: exc[3].vector=16 exc[3].rip=@f3
; expect: exc[4].vector=19 exc[4].rip=@f4
; expect: exc[5].vector=17 exc[5].error=0 exc[5].rip=@f5 exc[5].cs=0x1B exc[5].ss=0x23
; expect: exc[5].rsp=0x60000
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov eax, 1
    lea rbx, [rel db_handler]
    call exc_set_handler64
    mov eax, 7
    lea rbx, [rel nm_handler]
    call exc_set_handler64
    mov rax, cr4
    or eax, 3 << 9                      ; OSFXSR, OSXMMEXCPT
    mov cr4, rax
    mov rsp, 0x7FFF0
    push 0x40
    lea rax, [rel compat]
    push rax
    retfq
bits 32
compat:
    pushfd
    or dword [esp], 0x100
    popfd
    nop
s1: int3
b1: mov eax, cr0
    or eax, 0x28                        ; TS, NE
    mov cr0, eax
f2: fninit                              ; #NM; the handler clears TS
    fldcw [fcw]
    fld1
    fldz
    fdivp st1, st0
    mov dword [EXC_RESUME], a3
f3: fwait
a3: fnclex
    ldmxcsr [mxcsr]
    xorps xmm1, xmm1
    movss xmm0, [one]
    mov dword [EXC_RESUME], a4
f4: divss xmm0, xmm1
a4: mov eax, cr0
    or eax, 1 << 18                     ; AM
    mov cr0, eax
    mov dword [L64_CONT], done
    push dword 0x23
    push dword L64_RING3_SP
    push dword 0x40002                  ; AC
    push dword 0x1B
    push dword user
    iretd
user:
    mov ax, 0x23
    mov ds, ax
    mov dword [EXC_RESUME], a5
f5: mov eax, [0xA001]
a5: int 0x3F
bits 64
done:
    mov ebx, 0x600d
    hlt
db_handler:                             ; TF off in the frame, then the recorder
    and qword [rsp + 16], ~0x100
    jmp exc_stubs64 + 16
nm_handler:
    clts
    jmp exc_stubs64 + 7 * 16
fcw:   dw 0x037B
mxcsr: dd 0x1D80
one:   dd 1.0
%include "long64.inc"
