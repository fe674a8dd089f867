; Virtual-8086 mode extensions (SDM Vol. 3A 20.3.3.5, 20.4.1-20.4.3, Table 20-2; Vol. 2A
; INT n, IRET; Vol. 2B PUSHF, CLI, STI): with CR4.VME = 1 and IOPL < 3, CLI and STI work
; on VIF instead of IF and PUSHF pushes IF = VIF with IOPL = 3; INT n whose bit in the
; TSS interrupt-redirection bitmap (32 bytes below the I/O map base) is 0 is redirected
; to the v8086 IVT at linear 0 (frame FLAGS (IF = VIF, IOPL = 3), CS, IP on the v8086
; stack; VIF cleared in the handler), and its 16-bit IRET restores VIF from the IF image;
; a bit of 1 with IOPL < 3 is #GP(0) through the IDT, with VIF and the real IF in the
; frame. The test is loaded at 0x20000 so v8086 IPs are label - 0x20000 (CS 0x2000).
; start: prot32
; load: 0x20000
; expect: mem16[0xA000]&0x3200=0x3000 mem16[0xA002]&0x3200=0x3200
; expect: mem16[0xA004]&0x3200=0x3200 mem16[0xA006]&0x3200=0x3000 mem16[0xA008]=0xFFA
; expect: mem16[0xA00A]=@back-0x20000 mem16[0xA00C]=0x2000 mem16[0xA00E]=0x1234
; expect: exc.count=1 exc[0].vector=13 exc[0].error=0 exc[0].rip=@f1-0x20000
; expect: exc[0].rflags&0xA0200=0xA0200
; expect: mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov eax, cr4
    or eax, 1                           ; VME
    mov cr4, eax
    mov ax, 0x60
    ltr ax                              ; the TSS with a redirection bitmap
    or byte [vme_tss + 0x68 + 0x31 / 8], 1 << (0x31 % 8) ; INT 0x31: not redirected
    mov dword [0x30 * 4], ((v86_h30 - $$) & 0xFFFF) | (0x2000 << 16)
    mov eax, 6                          ; #UD ends the test
    mov ebx, finish
    call exc_set_handler32
    push dword 0                        ; GS
    push dword 0                        ; FS
    push dword 0                        ; DS
    push dword 0                        ; ES
    push dword 0x3000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x20202                  ; EFLAGS: VM, IF, IOPL = 0
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd

bits 16
v86:
    cli                                 ; VIF = 0, IF stays 1
    pushf
    pop word [0xA000]
    sti                                 ; VIF = 1
    pushf
    pop word [0xA002]
    int 0x30                            ; redirected through the v8086 IVT
back:
    mov dword [EXC_RESUME], a1 - $$
f1: int 0x31                            ; bitmap bit 1, IOPL 0: #GP(0)
a1: ud2

v86_h30:
    mov bp, sp
    mov ax, [bp + 4]
    mov [0xA004], ax                    ; FLAGS image in the frame
    pushf
    pop word [0xA006]                   ; VIF = 0 in the handler
    mov [0xA008], sp
    mov ax, [bp]
    mov [0xA00A], ax                    ; IP
    mov ax, [bp + 2]
    mov [0xA00C], ax                    ; CS
    mov word [0xA00E], 0x1234
    iret

bits 32
finish:
    mov ebx, 0x600d
    hlt
%macro P32_GDT_EXTRA 0
    DESC ABS(vme_tss), 0x87, 0x89, 0x0  ; 0x60: TSS with a redirection bitmap at 0x68
%endmacro
align 16
vme_tss:
    dd 0
    dd P32_RING0_SP                     ; ESP0
    dd 0x10                             ; SS0
    times 22 dd 0
    dw 0, 0x88                          ; I/O map base 0x88 (beyond the limit: no bitmap)
    times 32 db 0                       ; interrupt redirection bitmap (0x68-0x87)
%include "prot32.inc"
