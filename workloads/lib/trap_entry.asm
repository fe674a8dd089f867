; Exception entry, probes and the ring-3 round trip of lib/trap.c (see trap.h).

bits 64
default rel

extern rt_trap_handle

section .text
global rt_trap_stubs
global rt_trap_user_return
global rt_probe_read, rt_probe_write, rt_probe_exec_raw
global rt_probe_read_insn, rt_probe_write_insn, rt_probe_fixup, rt_probe_exec_fixup
global rt_user_enter
global rt_user_blob_start, rt_user_blob_fixup, rt_user_blob_end

; Vectors 0-255: push a zero error code where the CPU pushes none (SDM Vol. 3A Table 6-1;
; interrupts never push one) so that struct rt_frame (trap.h) fits every vector. Each
; stub is 16 bytes (push imm8/imm32, push imm32, jmp rel32 at most).
align 16
rt_trap_stubs:
%assign v 0
%rep 256
    align 16
  %if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21
  %else
    push 0
  %endif
    push v
    jmp trap_common
%assign v v + 1
%endrep

; The CPU aligned RSP to 16 before its pushes (SDM Vol. 3A 6.14.2): after the 5-qword frame,
; error, vector and 15 registers RSP is 16-byte aligned again for the C call.
trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call rt_trap_handle
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

; int rt_probe_read(const volatile void* p, uint64_t* out): -1, or the vector with RIP
; redirected to rt_probe_fixup by the handler.
rt_probe_read:
rt_probe_read_insn:
    mov rax, [rdi]
    mov [rsi], rax
    mov eax, -1
    ret

; int rt_probe_write(volatile void* p, uint64_t v)
rt_probe_write:
rt_probe_write_insn:
    mov [rdi], rsi
    mov eax, -1
    ret

; int rt_probe_exec_raw(const void* p): CALLs p (which must RET).
rt_probe_exec_raw:
    call rdi
    mov eax, -1
    ret

rt_probe_fixup:                         ; EAX = vector (set by the handler)
    ret
rt_probe_exec_fixup:                    ; the fetch at the target faulted after the CALL
    add rsp, 8
    ret

; int rt_user_enter(uint64_t rip, uint64_t rsp, int op, uint64_t lin): IRETQ to 64-bit
; ring 3 at rip with RDI = op, RSI = lin; returns the EAX the user code hands to INT 0x80.
rt_user_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [user_saved_rsp], rsp
    push 0x23                           ; SS
    push rsi                            ; RSP
    push 0x2                            ; RFLAGS
    push 0x2B                           ; CS
    push rdi                            ; RIP
    mov edi, edx
    mov rsi, rcx
    iretq

; IDT vector 0x80 (DPL 3): back to rt_user_enter's caller with the user's EAX.
rt_trap_user_return:
    mov rsp, [user_saved_rsp]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; Position-independent ring-3 code copied to a user page: RDI = op, RSI = address.
; A fault redirects to rt_user_blob_fixup (same offset in the copy) with EAX = vector.
rt_user_blob_start:
    cmp edi, 1
    je .write
    ja .exec
    mov rax, [rsi]
    jmp .ok
.write:
    mov qword [rsi], 0x55
    jmp .ok
.exec:
    call rsi
.ok:
    mov eax, -1
rt_user_blob_fixup:
    int 0x80
    ud2
rt_user_blob_end:

section .bss
align 8
user_saved_rsp: resq 1
