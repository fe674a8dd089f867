; SYSCALL/SYSRET round trips in IA-32e mode (SDM Vol. 2B SYSCALL, SYSRET): SYSCALL saves
; RIP in RCX and RFLAGS in R11, masks RFLAGS with IA32_FMASK, loads CS = STAR[47:32] and
; SS = STAR[47:32]+8 at CPL 0 and jumps to LSTAR, without touching RSP. SYSRET (REX.W)
; returns to 64-bit ring 3 with CS = STAR[63:48]+16, SS = STAR[63:48]+8 (RPL 3) and
; RFLAGS = R11; plain SYSRET returns to compatibility mode with CS = STAR[63:48].
; start: long64
; load: 0x100000
; expect: mem64[0xA000]=@ret1 mem64[0xA008]&0x4200=0x4000 mem64[0xA010]=0x08
; expect: mem64[0xA018]=0x10 mem64[0xA020]=0x60000 mem64[0xA028]&0x4200=0
; expect: mem64[0xA030]=0x2B mem64[0xA038]=0x23 mem64[0xA040]&0x200=0x200
; expect: mem64[0xA048]=0x1B mem64[0xA050]=1
; expect: rbx=0x600d cpl=0 mode=long64
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov ecx, 0xC0000081                 ; STAR
    xor eax, eax
    mov edx, 0x00180008                 ; SYSRET base 0x18, SYSCALL CS 0x08
    wrmsr
    mov ecx, 0xC0000082                 ; LSTAR
    lea rax, [rel kernel_entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xC0000084                 ; FMASK: clear IF and NT
    mov eax, 0x4200
    xor edx, edx
    wrmsr
    lea rax, [rel done]
    mov [L64_CONT], rax
    ENTER_RING3_64 user
user:
    pushfq
    or qword [rsp], 0x4000              ; NT (IF cannot change at CPL 3 with IOPL 0)
    popfq
    syscall
ret1:
    mov [0xA030], cs                    ; ring 3 data is flat and writable
    mov [0xA038], ss
    pushfq
    pop rax
    mov [0xA040], rax
    mov dword [0xA050], 2
    syscall                             ; second call: return to compatibility mode
compat:
bits 32
    mov ax, 0x23                        ; DS was nulled by the IRETQ to ring 3 (SDM IRET):
    mov ds, ax                          ; compatibility mode needs a usable one
    mov [0xA048], cs
    mov dword [0xA050], 1
    int 0x3F
bits 64
done:
    mov ebx, 0x600d
    hlt

kernel_entry:
    cmp dword [0xA050], 2
    je .second
    mov [0xA000], rcx
    mov [0xA008], r11
    mov [0xA010], cs
    mov [0xA018], ss
    mov [0xA020], rsp
    pushfq
    pop rax
    mov [0xA028], rax
    or r11, 0x200                       ; return with IF = 1
    o64 sysret
.second:
    lea rcx, [rel compat]
    mov r11, 0x2
    sysret                              ; 32-bit: EIP = ECX, CS = 0x1B
%include "long64.inc"
