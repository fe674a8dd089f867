; Hardware task switches (SDM Vol. 3A 7.3-7.4): a far JMP to a TSS descriptor saves the
; current state in the old TSS, marks the old task not busy and the new one busy, loads
; the new task's registers; a far CALL does the same but sets the new task's back link and
; EFLAGS.NT; IRET with NT=1 returns to the back-linked task. CR0.TS is set by each switch.
; start: prot32
; load: 0x100000
; expect: mem32[0xA000]=0x60 mem32[0xA004]=0xAAAA mem32[0xA008]=0x68 mem32[0xA00C]=0x60
; expect: mem32[0xA010]&0x4000=0x4000 mem32[0xA014]=0x8B mem32[0xA018]=0xBBBB
; expect: mem32[0xA01C]=0x89 mem32[0xA020]=0x89
; expect: tr=0x60 rbx=0x600d rsi=0x2222 cr0&8=8 rflags&0x4000=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    jmp 0x60:0                          ; task A (TSS at tss_a); offset ignored

task_a_entry:                           ; task A starts with EAX = 0xAAAA from its TSS
    mov [0xA004], eax
    str ax
    mov [0xA000], eax
    movzx eax, byte [p32_gdt + 0x28 + 5]   ; the old task (0x28) is no longer busy
    mov [0xA020], eax
    mov esi, 0x2222                     ; saved in tss_a by the CALL, restored by the IRET
    call 0x68:0                         ; nested task B
    movzx eax, byte [p32_gdt + 0x68 + 5]   ; B is not busy after its IRET
    mov [0xA01C], eax
    mov ebx, 0x600d
    hlt

task_b_entry:                           ; task B starts with EBX = 0xBBBB
    mov [0xA018], ebx
    str ax
    mov [0xA008], eax
    mov eax, [tss_b]                    ; back link
    mov [0xA00C], eax
    pushfd
    pop eax
    mov [0xA010], eax
    movzx eax, byte [p32_gdt + 0x60 + 5]   ; A stays busy under a CALL
    mov [0xA014], eax
    xor esi, esi
    iretd                               ; NT = 1: back to A

; TSS images (Vol. 3A Figure 7-2): link, ESP0, SS0, ..., CR3, EIP, EFLAGS, EAX..EDI, ES..GS, LDT.
%macro TSS32 4                          ; entry, eax, ebx, esp
    dd 0, P32_RING0_SP, 0x10, 0, 0, 0, 0
    dd 0                                ; CR3 (paging off)
    dd %1, 0x2                          ; EIP, EFLAGS
    dd %2, 0, 0, %3, %4, 0, 0, 0        ; EAX ECX EDX EBX ESP EBP ESI EDI
    dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10, 0   ; ES CS SS DS FS GS LDT
    dw 0, 104
%endmacro
align 16
tss_a: TSS32 task_a_entry, 0xAAAA, 0, 0x5F000
align 16
tss_b: TSS32 task_b_entry, 0, 0xBBBB, 0x5E000

%macro P32_GDT_EXTRA 0
    DESC ABS(tss_a), 103, 0x89, 0x0     ; 0x60
    DESC ABS(tss_b), 103, 0x89, 0x0     ; 0x68
%endmacro
%include "prot32.inc"
