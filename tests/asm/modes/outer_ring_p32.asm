; Returns to an outer privilege level in 32-bit protected mode (SDM Vol. 2A RET, "RETURN-
; TO-OUTER-PRIVILEGE-LEVEL"; IRET; Vol. 3A 5.8.6): a far RET and an IRETD from ring 0 to
; ring 3 pop SS:ESP as well, and load a null selector into each of DS, ES, FS, GS that
; holds a data segment with DPL < 3 (here the ring-0 data segment 0x10); ring-3
; selectors stay. Ring 3 stores its selectors through a segment that survived.
; start: prot32
; load: 0x100000
; expect: mem16[0xA000]=0 mem16[0xA002]=0x23 mem16[0xA004]=0 mem16[0xA006]=0x23
; expect: mem16[0xA008]=0x1B mem16[0xA00A]=0x23 mem32[0xA00C]=0x5FFF0
; expect: mem16[0xA010]=0x23 mem16[0xA012]=0 mem16[0xA014]=0x23 mem16[0xA016]=0
; expect: mem32[0xA018]=0x5FFE0
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov dword [P32_CONT], second
    mov ax, 0x10
    mov ds, ax
    mov fs, ax
    mov ax, 0x23
    mov es, ax
    mov gs, ax
    push dword 0x23                     ; SS
    push dword 0x5FFF0                  ; ESP
    push dword 0x1B                     ; CS
    push dword ring3_a
    retf
ring3_a:
    mov [es:0xA000], ds
    mov [es:0xA002], es
    mov [es:0xA004], fs
    mov [es:0xA006], gs
    mov [es:0xA008], cs
    mov [es:0xA00A], ss
    mov [es:0xA00C], esp
    int 0x3F
second:
    mov ax, 0x23
    mov ds, ax
    mov fs, ax
    mov ax, 0x10
    mov es, ax
    mov gs, ax
    mov dword [P32_CONT], done
    push dword 0x23
    push dword 0x5FFE0
    push dword 0x2
    push dword 0x1B
    push dword ring3_b
    iretd
ring3_b:
    mov [0xA010], ds
    mov [0xA012], es
    mov [0xA014], fs
    mov [0xA016], gs
    mov [0xA018], esp
    int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
