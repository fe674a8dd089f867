; SYSCALL and SYSRET with compatibility mode (SDM Vol. 2B SYSCALL, SYSRET; Intel
; behaviour): SYSCALL in compatibility mode is #UD (it needs CS.L = 1; IA32_CSTAR is not
; used), delivered through the 64-bit IDT from ring 3; a 32-bit SYSRET returns to
; compatibility mode at EIP = ECX (RCX bits 63:32 are ignored, so a non-canonical RCX is
; fine); a 64-bit SYSRET (REX.W) with a non-canonical RCX raises #GP(0) in ring 0 (frame
; CS 0x08, the kernel's RSP), without changing CPL.
; start: long64
; load: 0x100000
; expect: mem64[0xA000]=@ret1 mem16[0xA010]=0x08 mem16[0xA012]=0x10
; expect: mem16[0xA014]=0x1B mem32[0xA018]=1
; expect: exc.count=2
; expect: exc[0].vector=6 exc[0].rip=@fu exc[0].cs=0x1B exc[0].ss=0x23 exc[0].rsp=0x60000
; expect: exc[1].vector=13 exc[1].error=0 exc[1].rip=@f0 exc[1].cs=0x08
; expect: exc[1].rsp=0x70000 exc[1].ss=0  -- SS is null after the INT from ring 3 (6.14.4)
; expect: rbx=0x600d cpl=0 mode=long64
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1                           ; EFER.SCE
    wrmsr
    mov ecx, 0xC0000081                 ; STAR
    xor eax, eax
    mov edx, 0x00180008                 ; SYSRET base 0x18, SYSCALL CS 0x08
    wrmsr
    mov ecx, 0xC0000082                 ; LSTAR
    lea rax, [rel kernel_entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xC0000083                 ; CSTAR: must not be used
    lea rax, [rel wrong]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xC0000084                 ; FMASK
    mov eax, 0x200
    xor edx, edx
    wrmsr
    lea rax, [rel stage2]
    mov [L64_CONT], rax
    ENTER_RING3_64 user
user:
    syscall                             ; from 64-bit ring 3
ret1:
    ud2                                 ; not reached: SYSRET goes to compat below
bits 32
compat:
    mov ax, 0x23
    mov ds, ax
    mov [0xA014], cs
    mov dword [EXC_RESUME], a_ud
fu: syscall                             ; compatibility mode: #UD
a_ud:
    int 0x3F                            ; to stage2
bits 64
kernel_entry:                           ; 64-bit ring 0, RSP untouched (the user's)
    inc dword [0xA018]
    mov [0xA000], rcx
    mov [0xA010], cs
    mov [0xA012], ss
    lea rcx, [rel compat]
    mov rax, 0x8000000000000000
    or rcx, rax                         ; bits 63:32 are ignored by a 32-bit SYSRET
    mov r11, 0x2
    sysret
stage2:
    mov rsp, L64_RING0_SP
    lea rax, [rel done]
    mov [EXC_RESUME], rax
    mov rcx, 0x8000000000000000         ; not canonical
f0: o64 sysret
done:
    mov ebx, 0x600d
    hlt
wrong:
    ud2
%include "long64.inc"
