; PAE paging (SDM Vol. 3A 4.4): the four PDPTEs are loaded by MOV CR3 (4.4.1), a PDPTE with
; a reserved bit set (bit 1 = R/W is reserved in PAE PDPTEs) makes MOV CR3 #GP(0) while
; paging is on; a 2 MiB page and a 4 KiB page map as given; with EFER.NXE=1 an instruction
; fetch from an XD page is #PF(I/D|P) = 0x11; a reserved bit in a 2 MiB PDE (bits 20:13)
; gives #PF(RSVD|P) = 0x9 (4.7).
; Layout: PDPT 0xA000 (32-byte aligned), PD 0xB000, PT 0xC000 identity 0-2 MiB;
; PD[1] 2 MiB page linear 0x200000 -> phys 0x800000; PT maps linear 0x1FF000 -> phys 0x5000 XD.
; start: prot32
; load: 0x100000
; expect: mem32[0xA100]=0x11223344 mem32[0xA104]=0x55667788
; expect: exc.count=3
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0
; expect: exc[1].vector=14 exc[1].error=0x11 exc[1].cr2=0x1FF000 exc[1].rip=0x1FF000
; expect: exc[2].vector=14 exc[2].error=0x9 exc[2].cr2=0x400000 exc[2].rip=@f2
; expect: cr3=0xA000 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PDPT equ 0xA000
PD   equ 0xB000
PT   equ 0xC000
    call prot32_setup
    mov edi, PT
    mov eax, 0x3
.pt:
    mov [edi], eax
    mov dword [edi + 4], 0
    add eax, 0x1000
    add edi, 8
    cmp edi, PT + 4096
    jne .pt
    mov dword [PT + 0x1FF * 8], 0x5000 | 3
    mov dword [PT + 0x1FF * 8 + 4], 0x80000000   ; XD
    mov byte [0x5000], 0xC3             ; RET, never executed
    mov dword [PD], PT | 3
    mov dword [PD + 8], 0x800000 | 0x83 ; 2 MiB page
    mov dword [PD + 16], 0xA00000 | 0x83 | (1 << 13)   ; reserved bit 13 (PAT is bit 12)
    mov dword [PDPT], PD | 1
    mov dword [0x800000], 0x11223344
    mov dword [0x9ffffc], 0x55667788
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 11                     ; EFER.NXE
    wrmsr
    mov eax, cr4
    or eax, 1 << 5                      ; PAE
    mov cr4, eax
    mov eax, PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov eax, [0x200000]
    mov [0xA100], eax
    mov eax, [0x3ffffc]
    mov [0xA104], eax
    mov dword [PDPT + 8], PD | 3        ; PDPTE 1: R/W is reserved
    mov dword [EXC_RESUME], a0
    mov eax, PDPT
f0: mov cr3, eax                        ; #GP(0), CR3 unchanged
a0: mov dword [PDPT + 8], 0
    mov dword [EXC_RESUME], a1
    call 0x1FF000                       ; fetch from an XD page
a1: mov dword [EXC_RESUME], a2
f2: mov eax, [0x400000]
a2: mov ebx, 0x600d
    hlt
%include "prot32.inc"
