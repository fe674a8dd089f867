; 5-level paging (SDM Vol. 3A 4.5, CR4.LA57): entered from protected mode with paging off
; (LA57 cannot change in IA-32e mode: MOV CR4 #GP(0) there); a linear address with bits
; 56:48 != 0 (PML5 index 1) maps through its own PML5E; such an address is canonical with
; 57-bit linear addresses. Writing CR4.LA57 in 64-bit mode faults with #GP(0).
; Tables: PML5 0x20000, PML4 0x21000 (identity), PDPT 0x22000 (identity 1 GiB pages),
; PML4b 0x23000, PDPTb 0x24000: linear 0x0001000000000000 -> phys 0 via a 1 GiB page.
; start: prot32
; load: 0x100000
; expect: mem64[0xA000]=0x1122334455667788 mem64[0xA008]=0x1000
; expect: exc.count=1 exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0
; expect: cr4&0x1000=0x1000 efer&0x400=0x400 mode=long64 rbx=0x600d
; expect-stop: halted
%define KCODE64 0x60
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PML5  equ 0x20000
PML4  equ 0x21000
PDPT  equ 0x22000
PML4B equ 0x23000
PDPTB equ 0x24000
    call prot32_setup
    mov dword [PML5 + 0], PML4 | 3
    mov dword [PML5 + 8], PML4B | 3
    mov dword [PML4], PDPT | 3
    mov dword [PDPT], 0x83              ; 0-1 GiB identity
    mov dword [PML4B], PDPTB | 3
    mov dword [PDPTB], 0x83             ; -> phys 0
    mov dword [0xA100], 0x55667788
    mov dword [0xA104], 0x11223344
    mov eax, cr4
    or eax, (1 << 5) | (1 << 12)        ; PAE | LA57
    mov cr4, eax
    mov eax, PML5
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 8                      ; LME
    wrmsr
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp 0x60:long64
bits 64
long64:
    mov rbx, 0x0001000000000000
    mov rax, [rbx + 0xA100]             ; PML5 index 1 -> phys 0xA100
    mov [0xA000], rax
    mov qword [rbx + 0xA008], 0x1000    ; writes through the alias
    call exc_install64
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rax, cr4
    and rax, ~(1 << 12)
f0: mov cr4, rax                        ; clearing LA57 in IA-32e mode: #GP(0)
a0: mov ebx, 0x600d
    hlt
%include "exc64.inc"
%macro P32_GDT_EXTRA 0
    DESC 0, 0xFFFFF, 0x9A, 0xA          ; 0x60: 64-bit code
%endmacro
%include "prot32.inc"
