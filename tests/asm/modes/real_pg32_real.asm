; Real mode -> 32-bit protected mode with 32-bit paging in one MOV CR0 (PE and PG set
; together; SDM Vol. 3A 10.9.1, 4.1.1, 4.3) and back to real mode by clearing PG and PE in
; one MOV CR0 from a 16-bit segment (10.9.2). Paging is live in protected mode: linear
; 0x400000 maps phys 0xA000 through a second page table. In real mode again, linear =
; physical.
; start: real
; load: 0x7c00
; stack: 0x7000
; expect: mem32[0xA010]=0x12345678 mem32[0xA020]&0x80000001=0x80000001
; expect: mem32[0xA024]=0xC000 mem16[0xA030]=0x5678
; expect: mode=real cr0&0x80000001=0 cs=0 rbx&0xffff=0x600d
; expect-stop: halted
; max-insns: 20000
%include "nestsim.inc"
bits 16
TEST_ORG 0x7c00
PT0 equ 0xB000                          ; 0-4 MiB identity
PD  equ 0xC000
PT1 equ 0xD000                          ; 4-8 MiB: page 0 -> phys 0xA000
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov edi, PT0
    mov eax, 3
.pte:
    mov [di], eax
    add eax, 0x1000
    add di, 4
    cmp di, PT0 + 0x1000
    jne .pte
    mov dword [PT1], 0xA003
    mov dword [PD], PT0 | 3
    mov dword [PD + 4], PT1 | 3
    mov eax, PD
    mov cr3, eax
    lgdt [gdtr]
    mov eax, cr0
    or eax, 0x80000001                  ; PG | PE at once
    mov cr0, eax
    jmp dword 0x08:pm32
bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov dword [0x400010], 0x12345678    ; through PT1: phys 0xA010
    mov eax, cr0
    mov [0xA020], eax
    mov eax, cr3
    mov [0xA024], eax
    jmp 0x18:back16
bits 16
back16:
    mov ax, 0x20
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, 0x7FFFFFFE                 ; PG and PE off at once
    mov cr0, eax
    jmp 0:real_again
real_again:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov ax, [0xA010]                    ; physical again
    mov [0xA030], ax
    mov bx, 0x600d
    hlt
align 8
gdt:
    dq 0
    DESC 0, 0xFFFFF, 0x9A, 0xC          ; 0x08 32-bit code
    DESC 0, 0xFFFFF, 0x92, 0xC          ; 0x10 32-bit data
    DESC 0, 0xFFFF, 0x9A, 0x0           ; 0x18 16-bit code
    DESC 0, 0xFFFF, 0x92, 0x0           ; 0x20 16-bit data
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
