; #TS from virtual-8086 mode, delivered through a task gate (SDM Vol. 2A INT n "INTER-
; PRIVILEGE-LEVEL-INTERRUPT"; Vol. 3A 6.15 Interrupt 10, 7.3): with IOPL = 3, INT n
; through a DPL-3 interrupt gate needs the ring-0 stack of the TSS; SS0 holding a code
; segment is #TS(SS0 selector) (EXT = 0). Gate 10 is a task gate, so the fault switches
; to a handler task: the error code is on the new task's stack, the old TSS holds the
; v8086 state (EIP of the INT, EFLAGS.VM) and the new TSS the back link. The test is
; loaded at 0x20000 (v8086 IPs are label - 0x20000).
; start: prot32
; load: 0x20000
; expect: mem32[0xA000]=0x08 mem32[0xA004]=@f0-0x20000 mem32[0xA008]&0x20000=0x20000
; expect: mem32[0xA00C]=0x28 mem32[0xA010]=0x2000
; expect: tr=0x60 mode=prot32 cpl=0 rbx=0x600d exc.count=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov dword [EXC_IDT + 10 * 8], 0x00600000        ; task gate -> TSS 0x60
    mov dword [EXC_IDT + 10 * 8 + 4], 0x00008500
    or byte [EXC_IDT + 0x30 * 8 + 5], 0x60          ; gate 0x30: DPL 3
    mov dword [p32_tss + 8], 0x08                   ; SS0: a code segment
    push dword 0                        ; GS
    push dword 0                        ; FS
    push dword 0                        ; DS
    push dword 0                        ; ES
    push dword 0x3000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x23002                  ; EFLAGS: VM, IOPL = 3
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd
bits 16
v86:
    nop
f0: int 0x30                            ; #TS(0x08)
    hlt
bits 32
handler_task:
    mov eax, [esp]                      ; the error code
    mov [0xA000], eax
    mov eax, [p32_tss + 32]             ; old EIP
    mov [0xA004], eax
    mov eax, [p32_tss + 36]             ; old EFLAGS
    mov [0xA008], eax
    mov eax, [handler_tss]              ; back link
    mov [0xA00C], eax
    mov eax, [p32_tss + 76]             ; old CS
    mov [0xA010], eax
    mov ebx, 0x600d
    hlt
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
