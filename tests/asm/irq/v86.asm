; An external interrupt in virtual-8086 mode (SDM Vol. 3A 20.3.1, 6.12.1): IF = 1 in the
; v8086 EFLAGS, IOPL = 0; the interrupt leaves v8086 mode through a DPL-0 interrupt gate
; (no DPL check for external interrupts) to ring 0 on ESP0 with the frame EIP, CS,
; EFLAGS (VM = 1), ESP, SS, ES, DS, FS, GS; DS, ES, FS, GS are null in the handler.
; The test is loaded at 0x20000 so v8086 IPs are label - 0x20000 (CS 0x2000).
; start: prot32
; load: 0x20000
; irq: 0x30 at @v1
; expect: mem32[0xA100]=@v1-0x20000 mem32[0xA104]=0x2000 mem32[0xA108]&0x23200=0x20200
; expect: mem32[0xA10C]=0x1000 mem32[0xA110]=0x5000 mem32[0xA114]=0x300 mem32[0xA118]=0x400
; expect: mem32[0xA11C]=0x600 mem32[0xA120]=0x700 mem32[0xA124]=0 mem32[0xA128]=0
; expect: mem32[0xA12C]=0x6FFDC
; expect: mode=prot32 cpl=0 rbx=0x600d irq.acks=1
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov eax, 0x30
    mov ebx, h30
    call exc_set_handler32
    push dword 0x700                    ; GS
    push dword 0x600                    ; FS
    push dword 0x400                    ; DS
    push dword 0x300                    ; ES
    push dword 0x5000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x20202                  ; EFLAGS: VM, IF, IOPL = 0
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd
bits 16
v86:
    nop
v1: nop
    jmp v1
bits 32
h30:
    mov eax, ds
    mov [ss:0xA124], eax
    mov eax, gs
    mov [ss:0xA128], eax
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov [0xA12C], esp
    mov esi, esp
    mov edi, 0xA100
    mov ecx, 9
    rep movsd
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
