; Leaving IA-32e mode down to real mode (SDM Vol. 3A 10.8.5.4, 10.9.2): from 64-bit mode
; to compatibility mode (far return to a 32-bit segment), CR0.PG = 0 deactivates IA-32e
; mode (EFER.LMA = 0, LME still 1), then EFER.LME = 0 in legacy protected mode, a 16-bit
; segment, CR0.PE = 0, a far jump into real mode, where INT n goes through the IVT.
; The test is loaded at 0x10000 so the 16-bit segments and real-mode CS 0x1000 share
; its offsets.
; start: long64
; load: 0x10000
; expect: mem32[0xA000]&0x500=0x100 mem32[0xA004]&0x500=0 mem32[0xA008]&0x80000000=0
; expect: mode=real cs=0x1000 efer&0x500=0 cr0&0x80000001=0 rsi&0xffff=0x1234
; expect: rbx&0xffff=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x10000
    call long64_setup
    mov rsp, 0x7000
    push 0x40
    lea rax, [rel compat]
    push rax
    retfq
bits 32
compat:
    mov eax, cr0
    and eax, 0x7FFFFFFF                 ; PG = 0: IA-32e mode off
    mov cr0, eax
    mov ecx, 0xC0000080
    rdmsr
    mov [0xA000], eax                   ; LME = 1, LMA = 0
    and eax, ~0x100
    wrmsr
    rdmsr
    mov [0xA004], eax
    mov eax, cr0
    mov [0xA008], eax
    lidt [real_ivt]
    jmp 0x50:(p16 - $$)
bits 16
p16:
    mov ax, 0x58
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0x1000:(real - $$)
real:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x40 * 4], handler - $$
    mov word [0x40 * 4 + 2], 0x1000
    int 0x40
    mov bx, 0x600d
    hlt
handler:
    mov si, 0x1234
    iret
real_ivt:
    dw 0x3FF
    dd 0
%macro L64_GDT_EXTRA 0
    DESC LOAD, 0xFFFF, 0x9A, 0x0        ; 0x50 16-bit code, base = load address
    DESC 0, 0xFFFF, 0x92, 0x0           ; 0x58 16-bit data
%endmacro
%include "long64.inc"
