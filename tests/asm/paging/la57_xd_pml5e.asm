; With CR4.LA57 = 1 near branches check 57-bit canonicality (SDM Vol. 3A 3.3.7.1, 4.5):
; code runs at 0x000100000000A800, an alias whose PML5 index is 1 (bits 56:48 != 0), and
; a fetch through a PML5E with XD = 1 (EFER.NXE) is #PF(0x11) with CR2 = the target.
; start: prot32
; load: 0x100000
; expect: exc.count=1
; expect: exc[0].vector=14 exc[0].error=0x11 exc[0].cr2=0x200000000A800
; expect: exc[0].rip=0x200000000A800
; expect: rdx=0x1234 rbx=0x600d mode=long64
; expect-stop: halted
%define KCODE64 0x60
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PML5  equ 0x20000
PML4  equ 0x21000
PDPT  equ 0x22000
    call prot32_setup
    mov dword [PML5], PML4 | 3
    mov dword [PML5 + 8], PML4 | 3      ; alias 1: same tables
    mov dword [PML5 + 16], PML4 | 3     ; alias 2: XD at the PML5E
    mov dword [PML5 + 20], 0x80000000
    mov dword [PML4], PDPT | 3
    mov dword [PDPT], 0x83
    mov dword [0xA800], 0x1234BA        ; mov edx, 0x1234
    mov byte [0xA805], 0xC3             ; ret
    mov eax, cr4
    or eax, (1 << 5) | (1 << 12)        ; PAE | LA57
    mov cr4, eax
    mov eax, PML5
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, (1 << 8) | (1 << 11)        ; LME, NXE
    wrmsr
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp 0x60:long64
bits 64
long64:
    call exc_install64
    mov rcx, 0x000100000000A800
    call rcx                            ; runs through alias 1: EDX = 0x1234
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rcx, 0x000200000000A800
    call rcx                            ; XD at the PML5E
a0: mov ebx, 0x600d
    hlt
%include "exc64.inc"
%macro P32_GDT_EXTRA 0
    DESC 0, 0xFFFFF, 0x9A, 0xA          ; 0x60: 64-bit code
%endmacro
%include "prot32.inc"
