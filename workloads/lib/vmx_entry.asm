; VM entry and exit trampolines of the hypervisor library (vmx.h), and the fault catcher.

bits 64
default rel

VMCS_HOST_RSP equ 0x6C14
VMX_HC_DONE   equ 0x564D0000

; struct vmx_gprs offsets (vmx.h)
R_RAX equ 0
R_RBX equ 8
R_RCX equ 16
R_RDX equ 24
R_RSI equ 32
R_RDI equ 40
R_RBP equ 48
R_R8  equ 56
R_R9  equ 64
R_R10 equ 72
R_R11 equ 80
R_R12 equ 88
R_R13 equ 96
R_R14 equ 104
R_R15 equ 112
V_HOST_RSP equ 120                  ; struct vmx_vcpu: host_rsp follows regs

extern vmx_catch_rsp

section .text
global vmx_enter, vmx_exit_point, vmx_guest_return, vmx_catch_raw, vmx_catch_landing

; int vmx_enter(struct vmx_vcpu* v, uint64_t launched)
; Loads the guest GPRs (v->regs) and executes VMLAUNCH (launched = 0) or VMRESUME.
; Returns 0 after a VM exit (through vmx_exit_point, HOST_RIP), 1 on VMfailInvalid, 2 on
; VMfailValid (SDM Vol. 3C 31.2). HOST_RSP is this frame: [rsp] = launched, [rsp + 8] =
; v; it is written only when it differs from v->host_rsp (a hot loop calls from the
; same frame every time).
vmx_enter:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    push rsi
    cmp rsp, [rdi + V_HOST_RSP]
    je .rsp_written
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp
    jbe .fail_early                 ; CF or ZF: the VMWRITE itself failed
    mov [rdi + V_HOST_RSP], rsp
.rsp_written:
    mov rax, [rdi + R_RAX]
    mov rbx, [rdi + R_RBX]
    mov rcx, [rdi + R_RCX]
    mov rdx, [rdi + R_RDX]
    mov rsi, [rdi + R_RSI]
    mov rbp, [rdi + R_RBP]
    mov r8,  [rdi + R_R8]
    mov r9,  [rdi + R_R9]
    mov r10, [rdi + R_R10]
    mov r11, [rdi + R_R11]
    mov r12, [rdi + R_R12]
    mov r13, [rdi + R_R13]
    mov r14, [rdi + R_R14]
    mov r15, [rdi + R_R15]
    cmp qword [rsp], 0              ; MOV keeps the flags
    mov rdi, [rdi + R_RDI]
    jne .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; Still in root operation: the flags say how it failed; the guest values loaded
    ; into the registers are dropped.
    mov eax, 1
    jc .out
    mov eax, 2
.out:
    add rsp, 16
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
.fail_early:
    mov eax, 1
    jc .out
    mov eax, 2
    jmp .out

; HOST_RIP. Every GPR but RSP holds the guest's value; RSP = HOST_RSP (vmx_enter's
; frame). RFLAGS is 2 (SDM Vol. 3C 27.5.3).
vmx_exit_point:
    push rdi
    mov rdi, [rsp + 16]             ; v (its regs come first)
    mov [rdi + R_RAX], rax
    mov [rdi + R_RBX], rbx
    mov [rdi + R_RCX], rcx
    mov [rdi + R_RDX], rdx
    mov [rdi + R_RSI], rsi
    mov [rdi + R_RBP], rbp
    mov [rdi + R_R8],  r8
    mov [rdi + R_R9],  r9
    mov [rdi + R_R10], r10
    mov [rdi + R_R11], r11
    mov [rdi + R_R12], r12
    mov [rdi + R_R13], r13
    mov [rdi + R_R14], r14
    mov [rdi + R_R15], r15
    pop rax
    mov [rdi + R_RDI], rax
    xor eax, eax
    cld
    jmp .out_exit
.out_exit:
    add rsp, 16
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; Where a guest function returns to (vmx_vcpu_set_guest puts this address on its stack).
vmx_guest_return:
    mov eax, VMX_HC_DONE
    vmcall
    ud2
    jmp vmx_guest_return

; int vmx_catch_raw(void (*fn)(void*), void* arg): calls fn(arg) and returns -1, unless
; an exception handler (vmx.c catch_handler) resumes at vmx_catch_landing on this frame
; with RAX = the vector.
vmx_catch_raw:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    sub rsp, 8                      ; 16-byte alignment for the call
    mov [vmx_catch_rsp], rsp
    mov rax, rdi
    mov rdi, rsi
    call rax
    mov eax, -1
vmx_catch_landing:
    mov qword [vmx_catch_rsp], 0
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
