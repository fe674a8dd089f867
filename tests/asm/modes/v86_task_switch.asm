; Entering virtual-8086 mode by a task switch (SDM Vol. 3A 20.2.5): a far JMP to a TSS
; whose EFLAGS image has VM=1 loads CS, SS, DS, ES, FS, GS as real-mode segment values
; and runs at CPL 3; an INT n (IOPL=3) then leaves v8086 mode through the IDT onto the
; SS0:ESP0 of the v8086 task's TSS.
; start: prot32
; load: 0x100000
; expect: mem16[0xA000]=0x5678 mem16[0xA002]=0x880 mem32[0xA010]=0x68 mem32[0xA014]=0x6EFDC  -- ESP0 minus the 9-dword frame
; expect: mem32[0xA018]&0x20000=0x20000 mem32[0xA01C]=0x880
; expect: tr=0x68 rbx=0x600d cpl=0 mode=prot32
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
V86_CODE equ 0x8800
    call prot32_setup
    mov esi, v86_code
    mov edi, V86_CODE
    mov ecx, v86_code_end - v86_code
    rep movsb
    mov eax, 0x30
    mov ebx, from_v86
    call exc_set_handler32
    or byte [EXC_IDT + 0x30 * 8 + 5], 0x60 ; DPL 3
    jmp 0x68:0

from_v86:                               ; ring 0 of the v8086 task
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    str ax
    mov [0xA010], eax
    mov [0xA014], esp
    mov eax, [esp + 8]
    mov [0xA018], eax                   ; EFLAGS image: VM
    mov eax, [esp + 4]
    mov [0xA01C], eax                   ; CS
    mov ebx, 0x600d
    hlt

v86_code:
bits 16
    mov ax, 0x5678
    mov [0x3000], ax                    ; DS = 0x700 from the TSS: linear 0xA000
    mov ax, cs
    mov [0x3002], ax
    int 0x30
    hlt
v86_code_end:
bits 32

align 16
tss_v86:
    dd 0, 0x6F000, 0x10, 0, 0, 0, 0     ; link, ESP0, SS0, ESP1, SS1, ESP2, SS2
    dd 0                                ; CR3
    dd 0, 0x23002                       ; EIP, EFLAGS: VM, IOPL 3
    dd 0, 0, 0, 0, 0x1000, 0, 0, 0      ; EAX ECX EDX EBX ESP EBP ESI EDI
    dd 0x700, 0x880, 0x900, 0x700, 0x600, 0x500, 0   ; ES CS SS DS FS GS LDT
    dw 0, 104

%macro P32_GDT_EXTRA 0
    dq 0                                ; 0x60 unused
    DESC ABS(tss_v86), 103, 0x89, 0x0   ; 0x68
%endmacro
%include "prot32.inc"
