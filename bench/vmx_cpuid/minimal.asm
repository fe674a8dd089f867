; The minimal hypervisor of the vmx_cpuid benchmark ("minimal" argument): the whole
; exit-handling loop in a few instructions, as the issue describes it. On each VM exit
; it reads the exit reason; a CPUID exit (reason 10) has its guest RIP advanced by the
; exit's instruction length (SDM Vol. 3C 28.2.5) and the guest resumed. Guest GPRs are
; not switched: the guest (guest.asm) keeps its count in RBX/R12/R13, which this loop
; leaves alone, and the hypervisor counts round trips in R14. Any other exit ends the
; loop. The VMCS must be current, with guest and host state set up (vmx_vcpu_init);
; this sets HOST_RSP and HOST_RIP for the loop and launches.
;
; uint64_t vmx_cpuid_minimal(uint64_t n, struct minimal_result* out)
;   n: the guest's CPUID count (guest RBX). Returns the round trips (CPUID exits);
;   out->reason: the exit reason that ended the loop, out->guest_r12: the guest's count
;   of CPUIDs executed, out->status: 0, or 1/2 for VMfailInvalid/VMfailValid of an entry.

bits 64
default rel

VMCS_EXIT_REASON   equ 0x4402
VMCS_EXIT_INSN_LEN equ 0x440C
VMCS_GUEST_RIP     equ 0x681E
VMCS_HOST_RSP      equ 0x6C14
VMCS_HOST_RIP      equ 0x6C16
EXIT_REASON_CPUID  equ 10

section .text
global vmx_cpuid_minimal
vmx_cpuid_minimal:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov r15, rsi                    ; out
    mov rbx, rdi                    ; the guest's count
    xor r14d, r14d                  ; round trips
    mov eax, VMCS_HOST_RSP
    vmwrite rax, rsp
    lea rdx, [.exit]
    mov eax, VMCS_HOST_RIP
    vmwrite rax, rdx
    vmlaunch
    jmp .failed

.exit:                              ; every VM exit lands here, RSP = HOST_RSP
    mov eax, VMCS_EXIT_REASON
    vmread rdx, rax
    cmp edx, EXIT_REASON_CPUID
    jne .done
    mov eax, VMCS_GUEST_RIP
    vmread rdx, rax
    mov ecx, VMCS_EXIT_INSN_LEN
    vmread rcx, rcx
    add rdx, rcx
    vmwrite rax, rdx
    inc r14
    vmresume
    jmp .failed

.failed:                            ; CF: VMfailInvalid, ZF: VMfailValid
    mov eax, 1
    jc .status
    mov eax, 2
.status:
    mov qword [r15 + 16], rax
    xor edx, edx
    jmp .out
.done:
    mov qword [r15 + 16], 0
.out:
    mov qword [r15], rdx            ; exit reason
    mov qword [r15 + 8], r12        ; the guest's CPUIDs
    mov rax, r14
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
