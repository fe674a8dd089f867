; The guest of the vmx_cpuid benchmark: CPUID (leaf 0) RBX times, each one a VM exit,
; then VMCALL (RAX = VMX_HC_DONE) with R12 = the CPUIDs it executed.

bits 64
default rel

VMX_HC_DONE equ 0x564D0000

section .text
global vmx_cpuid_guest
vmx_cpuid_guest:
    mov r13, rbx                    ; the count the hypervisor put in RBX
    xor r12d, r12d
    test r13, r13
    jz .done
.loop:
    xor eax, eax
    xor ecx, ecx
    cpuid                           ; exits; the hypervisor skips it (2 bytes)
    inc r12
    cmp r12, r13
    jne .loop
.done:
    mov eax, VMX_HC_DONE
    vmcall
    ud2
