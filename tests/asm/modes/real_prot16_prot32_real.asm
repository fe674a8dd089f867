; Mode walk from reset: real mode -> 16-bit protected mode -> 32-bit protected mode ->
; 16-bit protected mode -> real mode (SDM Vol. 3A 10.9.1, 10.9.2). In each mode a near
; CALL records its push width: 2 bytes in 16-bit code, 4 in 32-bit code.
; start: real
; load: 0x7c00
; stack: 0x7000
; expect: mode=real cpl=0 cs=0 ds=0 ss=0 cs.base=0 rax&0xffff=0x600d cr0&1=0
; expect: mem16[0xA000]=2 mem16[0xA002]=0x18 mem16[0xA004]=4 mem16[0xA006]=0x08
; expect: mem16[0xA008]=2 mem16[0xA00A]=2 rsp&0xffff=0x7000
; expect-stop: halted
; max-insns: 1000
%include "nestsim.inc"
bits 16
TEST_ORG 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov sp, 0x7000
    mov bx, sp
    call width                          ; real mode: 2
    mov [0xA008], ax
    lgdt [gdtr]
    mov eax, cr0
    or al, 1                            ; CR0.PE
    mov cr0, eax
    jmp 0x18:prot16                     ; SDM 10.9.1 step 4: far jump right after MOV CR0
prot16:
    mov ax, 0x20
    mov ds, ax
    mov ss, ax
    mov bx, sp
    call width
    mov [0xA000], ax
    mov [0xA002], cs
    jmp dword 0x08:prot32
bits 32
prot32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    mov ebx, esp
    call width32
    mov [0xA004], ax
    mov [0xA006], cs
    jmp 0x18:back16                     ; SDM 10.9.2: 16-bit segment with 64 KiB limit first
bits 16
back16:
    mov ax, 0x20                        ; real-mode-like limits in the caches
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0:real_again
real_again:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov bx, sp
    call width
    mov [0xA00A], ax
    mov ax, 0x600d
    hlt

; Returns in AX how many bytes a near CALL pushed (16-bit code).
width:                                  ; BX = SP before the CALL
    mov ax, bx
    sub ax, sp
    ret
bits 32
width32:
    mov eax, ebx
    sub eax, esp
    ret

align 8
gdt:
    dq 0
    DESC 0, 0xFFFFF, 0x9A, 0xC          ; 0x08 32-bit code
    DESC 0, 0xFFFFF, 0x92, 0xC          ; 0x10 32-bit data
    DESC 0, 0xFFFF, 0x9A, 0x0           ; 0x18 16-bit code, 64 KiB
    DESC 0, 0xFFFF, 0x92, 0x0           ; 0x20 16-bit data, 64 KiB
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
