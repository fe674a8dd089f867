; An external interrupt through a task gate (SDM Vol. 3A 7.3, 6.12.2 "Interrupt Tasks"):
; the interrupt switches to the handler task (TSS 0x60): the old task's state, including
; the EIP of the instruction not yet run, is saved in its TSS, the new task gets the old
; TR in its back link and EFLAGS.NT = 1, both TSS descriptors are busy; the handler's
; IRET (NT = 1) switches back, and the interrupted task continues where it stopped with
; its registers.
; start: prot32
; load: 0x100000
; irq: 0x30 at @l0
; expect: mem32[0xA000]=0x28 mem32[0xA004]=0x60 mem32[0xA008]&0x4000=0x4000
; expect: mem32[0xA00C]=@l0 mem32[0xA010]=0x8B mem32[0xA014]=0x8B mem32[0xA018]=0x5555
; expect: mem32[0xA01C]=1
; expect: tr=0x28 rsi=0x5555 rdi=1 rbx=0x600d rflags&0x4200=0x200 irq.acks=1
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov dword [EXC_IDT + 0x30 * 8], 0x00600000      ; task gate -> TSS 0x60
    mov dword [EXC_IDT + 0x30 * 8 + 4], 0x00008500
    mov esi, 0x5555
    xor edi, edi
    sti
    nop
l0: inc edi
    mov ebx, 0x600d
    hlt

handler_task:                           ; runs as task 0x60 with its own registers
    mov eax, [handler_tss]
    mov [0xA000], eax                   ; = 0x28
    str ax
    movzx eax, ax
    mov [0xA004], eax
    pushfd
    pop dword [0xA008]                  ; NT
    mov eax, [p32_tss + 32]             ; the old task's saved EIP
    mov [0xA00C], eax
    movzx eax, byte [p32_gdt + 0x28 + 5]
    mov [0xA010], eax                   ; old TSS still busy (nested)
    movzx eax, byte [p32_gdt + 0x60 + 5]
    mov [0xA014], eax
    mov eax, [p32_tss + 64]             ; the old task's saved ESI
    mov [0xA018], eax
    inc dword [0xA01C]
    iretd                               ; NT = 1: back to task 0x28
    jmp handler_task                    ; the next interrupt would start here
%macro P32_GDT_EXTRA 0
    DESC ABS(handler_tss), 103, 0x89, 0x0   ; 0x60 available 32-bit TSS
%endmacro
align 16
handler_tss:
    dd 0                                ; back link
    dd 0x6F000, 0x10                    ; ESP0, SS0
    times 4 dd 0
    dd 0                                ; CR3 (paging off)
    dd handler_task                     ; EIP
    dd 0x2                              ; EFLAGS
    times 4 dd 0                        ; EAX ECX EDX EBX
    dd 0x6E000                          ; ESP
    times 3 dd 0                        ; EBP ESI EDI
    dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10   ; ES CS SS DS FS GS
    dd 0                                ; LDT
    dw 0, 104                           ; T, I/O map base
%include "prot32.inc"
