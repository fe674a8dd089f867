; Exceptions in 64-bit mode (SDM Vol. 3A 6.14, 6.15): the CPU always pushes SS:RSP; #DE
; (fault), #BP (trap), INTO and BOUND are #UD in 64-bit mode, a non-canonical data access
; is #GP(0), a non-canonical stack access is #SS(0), loading a not-present data segment is
; #NP(selector), a selector beyond the GDT limit is #GP(selector).
; start: long64
; load: 0x100000
; expect: exc.count=8
; expect: exc[0].vector=0 exc[0].error=0 exc[0].rip=@f0 exc[0].cs=0x08 exc[0].ss=0x10
; expect: exc[0].rsp=0x80000
; expect: exc[1].vector=3 exc[1].rip=@a1
; expect: exc[2].vector=6 exc[2].rip=@f2
; expect: exc[3].vector=6 exc[3].rip=@f3
; expect: exc[4].vector=13 exc[4].error=0 exc[4].rip=@f4
; expect: exc[5].vector=12 exc[5].error=0 exc[5].rip=@f5
; expect: exc[6].vector=11 exc[6].error=0x48 exc[6].rip=@f6
; expect: exc[7].vector=13 exc[7].error=0x1000 exc[7].rip=@f7
; expect: rbx=0x600d ds=0x10
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    xor ecx, ecx
    mov eax, 1
f0: div ecx
a0: int3
a1: lea rax, [rel a2]
    mov [EXC_RESUME], rax
f2: db 0xCE                             ; INTO
a2: lea rax, [rel a3]
    mov [EXC_RESUME], rax
f3: db 0x62, 0x00                       ; BOUND eax, [rax] in legacy modes
a3: lea rax, [rel a4]
    mov [EXC_RESUME], rax
    mov rcx, 0x8000000000000000
f4: mov rax, [rcx]
a4: lea rax, [rel a5]
    mov [EXC_RESUME], rax
    mov rbp, 0x8000000000000000
f5: mov rax, [rbp]                      ; RBP base: SS segment
a5: lea rax, [rel a6]
    mov [EXC_RESUME], rax
    mov ax, 0x48
f6: mov ds, ax
a6: lea rax, [rel a7]
    mov [EXC_RESUME], rax
    mov ax, 0x1000
f7: mov ds, ax
a7: mov ebx, 0x600d
    hlt
%include "long64.inc"
