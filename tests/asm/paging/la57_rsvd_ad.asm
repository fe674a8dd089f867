; PML5E format (SDM Vol. 3A 4.5.4, Table 4-13; 4.8; 4.7 RSVD): bit 7 (PS) of a PML5E is
; reserved, so a read through it is #PF(P | RSVD = 9); so are address bits at or above
; MAXPHYADDR (the default model reports 46), so a write through one is #PF(P | W | RSVD
; = 0xB). A read through a good walk sets A in the PML5E, PML4E and PDPTE (a 1 GiB
; leaf), a write sets D in the leaf only.
; start: prot32
; load: 0x100000
; expect: exc.count=2
; expect: exc[0].vector=14 exc[0].error=9 exc[0].cr2=0x100000000A100 exc[0].rip=@f0
; expect: exc[1].vector=14 exc[1].error=0xB exc[1].cr2=0x300000000A100 exc[1].rip=@f1
; expect: mem64[0xA000]=0x1122334455667788
; expect: mem8[0x20010]&0x60=0x20 mem8[0x23000]&0x60=0x20 mem8[0x24000]&0x60=0x60
; expect: rbx=0x600d
; expect-stop: halted
%define KCODE64 0x60
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PML5  equ 0x20000
PML4  equ 0x21000
PDPT  equ 0x22000
PML4A equ 0x23000
PDPTA equ 0x24000
    call prot32_setup
    mov dword [PML5], PML4 | 3
    mov dword [PML4], PDPT | 3
    mov dword [PDPT], 0x83
    mov dword [PML5 + 8], PML4A | 0x83  ; alias 1: PS set in the PML5E
    mov dword [PML5 + 16], PML4A | 3    ; alias 2: good
    mov dword [PML5 + 24], PML4A | 3    ; alias 3: address bit 46 set
    mov dword [PML5 + 28], 1 << (46 - 32)
    mov dword [PML4A], PDPTA | 3
    mov dword [PDPTA], 0x83
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
    call exc_install64
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rcx, 0x000100000000A100
f0: mov rax, [rcx]                      ; #PF(9)
a0: mov rcx, 0x000200000000A100
    mov rax, [rcx]                      ; sets A on the walk
    mov [0xA000], rax
    mov qword [rcx + 0x10], 0           ; sets D in the PDPTE
    lea rax, [rel a1]
    mov [EXC_RESUME], rax
    mov rcx, 0x000300000000A100
f1: mov qword [rcx], 0                  ; #PF(0xB)
a1: mov ebx, 0x600d
    hlt
%include "exc64.inc"
%macro P32_GDT_EXTRA 0
    DESC 0, 0xFFFFF, 0x9A, 0xA          ; 0x60: 64-bit code
%endmacro
%include "prot32.inc"
