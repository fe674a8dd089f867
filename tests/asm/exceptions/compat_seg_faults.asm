; Segment faults in compatibility mode (SDM Vol. 3A 5.3, 6.15, 7.7 "Task Management in
; 64-bit Mode"): limits apply to 32-bit code in IA-32e mode: a DS access past a byte-
; granular limit is #GP(0), an SS (EBP-based) access past it is #SS(0); loading a not-
; present segment is #NP(selector) for DS and #SS(selector) for SS; a far JMP to a TSS
; is #GP(TSS selector) and IRET with NT = 1 is #GP(0) (no task switching in IA-32e mode).
; INT n to a gate whose IST slot (IST2) lies beyond the TSS limit is #TS(TSS selector).
; All go through the 64-bit IDT with CS 0x40 in the frame.
; start: long64
; load: 0x100000
; expect: exc.count=7
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0 exc[0].cs=0x40
; expect: exc[1].vector=12 exc[1].error=0 exc[1].rip=@f1 exc[1].ss=0x50
; expect: exc[2].vector=11 exc[2].error=0x48 exc[2].rip=@f2
; expect: exc[3].vector=12 exc[3].error=0x48 exc[3].rip=@f3
; expect: exc[4].vector=13 exc[4].error=0x30 exc[4].rip=@f4
; expect: exc[5].vector=13 exc[5].error=0 exc[5].rip=@f5
; expect: exc[6].vector=10 exc[6].error=0x58 exc[6].rip=@f6 exc[6].cs=0x40
; expect: tr=0x58 rbx=0x600d mode=compat
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov rsp, 0x7FFF0
    push 0x40
    lea rax, [rel compat]
    push rax
    retfq
bits 32
compat:
    mov dword [EXC_RESUME], a0
    mov ax, 0x50
    mov es, ax
f0: mov eax, [es:0x1000]                ; past the limit 0xFFF: #GP(0)
a0: mov dword [EXC_RESUME], a1
    mov ss, ax                          ; ESP (0x7FFF0) is past the limit: only use EBP
    mov ebp, 0x2000
f1: mov eax, [ebp]                      ; #SS(0)
a1: mov ax, 0x10
    mov ss, ax
    mov dword [EXC_RESUME], a2
    mov ax, 0x48
f2: mov ds, ax                          ; not present: #NP(0x48)
a2: mov dword [EXC_RESUME], a3
f3: mov ss, ax                          ; not present: #SS(0x48)
a3: mov dword [EXC_RESUME], a4
f4: jmp 0x30:0                          ; the TSS: #GP(0x30)
a4: mov dword [EXC_RESUME], a5
    pushfd
    or dword [esp], 0x4000              ; NT
    popfd
f5: iretd                               ; #GP(0)
a5: pushfd
    and dword [esp], ~0x4000
    popfd
    mov ax, 0x58
    ltr ax                              ; a TSS that ends after IST1
    mov byte [EXC_IDT + 0x21 * 16 + 4], 2   ; gate 0x21: IST2
    mov dword [EXC_RESUME], a6
f6: int 0x21                            ; #TS(0x58)
a6: mov ebx, 0x600d
    hlt
%macro L64_GDT_EXTRA 0
    DESC 0, 0xFFF, 0x92, 0x4            ; 0x50 data, limit 0xFFF, byte granular, B = 1
    DESC ABS(short_tss), 0x2B, 0x89, 0x0 ; 0x58 64-bit TSS ending after IST1
    dq 0
%endmacro
align 16
short_tss: times 0x68 db 0
%include "long64.inc"
