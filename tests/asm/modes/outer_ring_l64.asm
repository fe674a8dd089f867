; Returns to ring 3 in IA-32e mode (SDM Vol. 2A IRET, RET "RETURN-TO-OUTER-PRIVILEGE-
; LEVEL"): IRETQ and a 64-bit far RET (REX.W RETF) pop SS:RSP and null each of DS, ES,
; FS, GS that holds a data segment with DPL < 3 (0x10); ring-3 selectors stay. 64-bit
; code does not use DS/ES bases, so ring 3 can still store with a null DS.
; start: long64
; load: 0x100000
; expect: mem16[0xA000]=0 mem16[0xA002]=0x23 mem16[0xA004]=0 mem16[0xA006]=0x23
; expect: mem16[0xA008]=0x2B mem16[0xA00A]=0x23 mem64[0xA00C]=0x5FFF0
; expect: mem16[0xA020]=0x23 mem16[0xA022]=0 mem16[0xA024]=0x23 mem16[0xA026]=0
; expect: mem16[0xA028]=0x2B mem64[0xA02C]=0x5FFE0
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    lea rax, [rel second]
    mov [L64_CONT], rax
    mov ax, 0x10
    mov ds, ax
    mov fs, ax
    mov ax, 0x23
    mov es, ax
    mov gs, ax
    push 0x23
    push 0x5FFF0
    push 0x2
    push 0x2B
    lea rax, [rel ring3_a]
    push rax
    iretq
ring3_a:
    mov [0xA000], ds
    mov [0xA002], es
    mov [0xA004], fs
    mov [0xA006], gs
    mov [0xA008], cs
    mov [0xA00A], ss
    mov [0xA00C], rsp
    int 0x3F
second:
    mov ax, 0x23
    mov ds, ax
    mov fs, ax
    mov ax, 0x10
    mov es, ax
    mov gs, ax
    lea rax, [rel done]
    mov [L64_CONT], rax
    push 0x23
    push 0x5FFE0
    push 0x2B
    lea rax, [rel ring3_b]
    push rax
    retfq
ring3_b:
    mov [0xA020], ds
    mov [0xA022], es
    mov [0xA024], fs
    mov [0xA026], gs
    mov [0xA028], cs
    mov [0xA02C], rsp
    int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "long64.inc"
