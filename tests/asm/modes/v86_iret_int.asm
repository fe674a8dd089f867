; Virtual-8086 mode (SDM Vol. 3A 20.2-20.3): IRET from CPL 0 with EFLAGS.VM=1 in the image
; enters v8086 mode, popping ES, DS, FS, GS as real-mode segment values; code runs with
; real-mode addressing at CPL 3. INT n (IOPL=3) through a DPL-3 32-bit interrupt gate
; leaves v8086 mode to ring 0 on the TSS's ESP0 stack: the frame holds EIP, CS, EFLAGS
; (VM=1), ESP, SS, ES, DS, FS, GS, and DS, ES, FS, GS are loaded with null selectors
; (20.3.1.1, 6.12.1 "Interrupt ... from virtual-8086 mode").
; start: prot32
; load: 0x100000
; expect: mem16[0xA000]=0x1234 mem16[0xA004]=0x880 mem16[0xA008]=0x1000
; expect: mem32[0xA100]=mem32[@v86_eip] mem32[0xA104]=0x880 mem32[0xA108]&0x23000=0x23000
; expect: mem32[0xA10C]=0x1000 mem32[0xA110]=0x900 mem32[0xA114]=0x700 mem32[0xA118]=0x700
; expect: mem32[0xA11C]=0x600 mem32[0xA120]=0x500 mem32[0xA124]=0 mem32[0xA128]=0
; expect: mem32[0xA12C]=0x6FFDC  -- ESP0 minus the 9-dword frame
; expect: mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
V86_CODE equ 0x8800                     ; v8086 CS = 0x880 -> linear 0x8800
    call prot32_setup
    mov esi, v86_code                   ; copy the v8086 code below 1 MiB
    mov edi, V86_CODE
    mov ecx, v86_code_end - v86_code
    rep movsb
    mov eax, 0x30
    mov ebx, from_v86
    call exc_set_handler32
    or byte [EXC_IDT + 0x30 * 8 + 5], 0x60 ; DPL 3
    push dword 0x500                    ; GS
    push dword 0x600                    ; FS
    push dword 0x700                    ; DS
    push dword 0x700                    ; ES
    push dword 0x900                    ; SS
    push dword 0x1000                   ; ESP
    push dword 0x23002                  ; EFLAGS: VM, IOPL = 3
    push dword 0x880                    ; CS
    push dword 0                        ; EIP
    iretd

from_v86:                               ; ring 0: DS/ES/FS/GS are null, SS is 0x10
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
    rep movsd                           ; EIP CS EFLAGS ESP SS ES DS FS GS
    mov ebx, 0x600d
    hlt

v86_eip: dd v86_after - v86_code

v86_code:
bits 16
    mov ax, 0x1234
    mov [0x3000], ax                    ; DS = 0x700: linear 0xA000
    mov ax, cs
    mov [0x3004], ax
    mov [0x3008], sp
    int 0x30
v86_after:
    hlt                                 ; not reached
v86_code_end:
bits 32
%include "prot32.inc"
