; SMAP and SMEP under 5-level paging (SDM Vol. 3A 4.6.1): a page is a user page only if
; U/S = 1 at every level, the PML5E included. Alias 1 (PML5 index 1) has U/S = 1 all
; the way: a supervisor read with CR4.SMAP = 1 and EFLAGS.AC = 0 is #PF(1), and works
; after STAC; alias 2 differs only by U/S = 0 in its PML5E: a supervisor page, readable
; under SMAP. SMEP: linear 1 GiB (PML5 index 0, PDPTE 1, U/S = 1 below) is a user page
; while PML5E 0 has U/S = 1 (fetch #PF(0x11)) and a supervisor page once PML5E 0 has
; U/S = 0 (the RET there runs). The kernel's identity map (PDPTE 0) is supervisor.
; start: prot32
; load: 0x100000
; expect: exc.count=2
; expect: exc[0].vector=14 exc[0].error=1 exc[0].cr2=0x100000000A100 exc[0].rip=@f0
; expect: exc[1].vector=14 exc[1].error=0x11 exc[1].cr2=0x4000A800 exc[1].rip=0x4000A800
; expect: mem64[0xA000]=0x1122334455667788 mem64[0xA008]=0x1122334455667788
; expect: rdx=0x1234 rbx=0x600d
; expect-stop: halted
%define KCODE64 0x60
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PML5  equ 0x20000
PML4  equ 0x21000
PDPT  equ 0x22000
PML4A equ 0x23000                       ; aliases 1 and 2 share PML4A -> PDPTA
PDPTA equ 0x24000
    call prot32_setup
    mov dword [PML5], PML4 | 7
    mov dword [PML4], PDPT | 7
    mov dword [PDPT], 0x83              ; 0-1 GiB identity, supervisor
    mov dword [PDPT + 8], 0x87          ; 1-2 GiB -> phys 0, U/S = 1
    mov dword [PML5 + 8], PML4A | 7     ; alias 1: user all the way
    mov dword [PML5 + 16], PML4A | 3    ; alias 2: U/S = 0 at the PML5E
    mov dword [PML4A], PDPTA | 7
    mov dword [PDPTA], 0x87
    mov dword [0xA100], 0x55667788
    mov dword [0xA104], 0x11223344
    mov dword [0xA800], 0x1234BA        ; mov edx, 0x1234
    mov byte [0xA805], 0xC3             ; ret
    mov eax, cr4
    or eax, (1 << 5) | (1 << 12) | (1 << 20) | (1 << 21)   ; PAE LA57 SMEP SMAP
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
f0: mov rax, [rcx]                      ; SMAP: #PF(1)
a0: stac
    mov rax, [rcx]                      ; AC = 1: allowed
    mov [0xA000], rax
    clac
    mov rcx, 0x000200000000A100
    mov rax, [rcx]                      ; supervisor page: allowed
    mov [0xA008], rax
    lea rax, [rel a1]
    mov [EXC_RESUME], rax
    mov ecx, 0x4000A800
    call rcx                            ; SMEP: #PF(0x11)
a1: and dword [PML5], ~4                ; PML5E 0: U/S = 0
    mov rax, cr3
    mov cr3, rax
    mov ecx, 0x4000A800
    call rcx                            ; a supervisor page now: EDX = 0x1234
    mov ebx, 0x600d
    hlt
%include "exc64.inc"
%macro P32_GDT_EXTRA 0
    DESC 0, 0xFFFFF, 0x9A, 0xA          ; 0x60: 64-bit code
%endmacro
%include "prot32.inc"
