; SYSENTER/SYSEXIT in IA-32e mode (SDM Vol. 2B SYSENTER, SYSEXIT; Intel): SYSENTER from
; compatibility-mode ring 3 enters 64-bit ring 0 (CS = IA32_SYSENTER_CS with L = 1, SS =
; CS + 8) at the 64-bit IA32_SYSENTER_EIP with RSP = IA32_SYSENTER_ESP; SYSEXIT returns
; to compatibility mode (CS = SYSENTER_CS + 16, SS = + 24, RPL 3, EIP = EDX, ESP = ECX),
; REX.W SYSEXIT to 64-bit mode (CS = SYSENTER_CS + 32, SS = + 40, RIP = RDX, RSP = RCX).
; start: long64
; load: 0x100000
; expect: mem16[0xA000]=0x08 mem16[0xA002]=0x10 mem64[0xA008]=0x6F000 mem16[0xA010]=0x1B
; expect: mem16[0xA012]=0x23 mem32[0xA014]=0x5F000 mem16[0xA020]=0x2B mem16[0xA022]=0x33
; expect: mem64[0xA028]=0x5E000 mem32[0xA030]=2
; expect: rbx=0x600d cpl=0 mode=long64
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov ecx, 0x174                      ; IA32_SYSENTER_CS
    mov eax, 0x08
    xor edx, edx
    wrmsr
    mov ecx, 0x175                      ; IA32_SYSENTER_ESP
    mov eax, 0x6F000
    wrmsr
    mov ecx, 0x176                      ; IA32_SYSENTER_EIP
    lea rax, [rel kernel]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    lea rax, [rel done]
    mov [L64_CONT], rax
    push 0x23                           ; IRETQ to compatibility-mode ring 3
    push 0x60000
    push 0x2
    push 0x1B
    lea rax, [rel user32]
    push rax
    iretq
bits 32
user32:
    sysenter
back32:                                 ; after the 32-bit SYSEXIT
    mov ax, 0x23
    mov ds, ax
    mov [0xA010], cs
    mov [0xA012], ss
    mov [0xA014], esp
    sysenter
bits 64
back64:                                 ; after the 64-bit SYSEXIT
    mov [0xA020], cs
    mov [0xA022], ss
    mov [0xA028], rsp
    int 0x3F
kernel:                                 ; 64-bit ring 0
    inc dword [0xA030]
    cmp dword [0xA030], 2
    je .second
    mov [0xA000], cs
    mov [0xA002], ss
    mov [0xA008], rsp
    lea edx, [rel back32]
    mov ecx, 0x5F000
    sysexit                             ; to compatibility mode
.second:
    lea rdx, [rel back64]
    mov ecx, 0x5E000
    o64 sysexit                         ; to 64-bit mode
done:
    mov ebx, 0x600d
    hlt
%include "long64.inc"
