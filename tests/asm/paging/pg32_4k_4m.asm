; 32-bit paging (SDM Vol. 3A 4.3): a 4 KiB mapping through a page table and a 4 MiB page
; with CR4.PSE; #PF error codes (4.7) and CR2 for not-present, write-protect (CR0.WP=1 at
; CPL 0), user access to a supervisor page; accessed/dirty bits (4.8) in PDE and PTE.
; Layout: PD 0xB000; PT0 0xC000 identity-maps 0-4 MiB (user, RW); PDE 1 is a 4 MiB page
; linear 0x400000 -> phys 0x800000; PT2 0xD000: linear 0x800000 -> phys 0x5000 read-only,
; 0x801000 not present, 0x802000 -> phys 0x6000 user RW (PDE 2 is supervisor).
; start: prot32
; load: 0x100000
; expect: mem32[0xA000]=0x11223344 mem32[0xA004]=0x55667788 mem32[0x6000]=0x99
; expect: exc.count=5
; expect: exc[0].vector=14 exc[0].error=0x3 exc[0].cr2=0x800000 exc[0].rip=@f0
; expect: exc[1].vector=14 exc[1].error=0x0 exc[1].cr2=0x801000 exc[1].rip=@f1
; expect: exc[2].vector=14 exc[2].error=0x2 exc[2].cr2=0x801004 exc[2].rip=@f2
; expect: exc[3].vector=14 exc[3].error=0x5 exc[3].cr2=0x802008 exc[3].cs=0x1B
; expect: exc[4].vector=14 exc[4].error=0x7 exc[4].cr2=0x800010
; expect: mem32[0x5000]=0xAB cr2=0x800010
; expect: mem32[0xB004]&0x60=0x60 mem32[0xB008]&0x20=0x20
; expect: mem32[0xD000]&0x60=0x60 mem32[0xD008]&0x60=0x60 mem32[0xC400]&0x20=0x20  -- PTE of the code page
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PD  equ 0xB000
PT0 equ 0xC000
PT2 equ 0xD000
    call prot32_setup
    mov edi, PT0                        ; identity 0-4 MiB, user RW
    mov eax, 0x7
.pt0:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, PT0 + 4096
    jne .pt0
    mov dword [PD + 0], PT0 | 7
    mov dword [PD + 4], 0x800000 | 0x87 ; 4 MiB page, user RW
    mov dword [PD + 8], PT2 | 3         ; supervisor
    mov dword [PT2 + 0], 0x5000 | 1     ; read-only
    mov dword [PT2 + 4], 0              ; not present
    mov dword [PT2 + 8], 0x6000 | 7
    mov dword [0x800000], 0x11223344    ; physical, before paging
    mov dword [0x800ffc], 0x55667788
    mov eax, PD
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 4                      ; PSE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80010000                  ; PG | WP
    mov cr0, eax
    mov eax, [0x400000]                 ; via the 4 MiB page
    mov [0xA000], eax
    mov eax, [0x400ffc]
    mov [0xA004], eax
    mov byte [0x400001], 0x33           ; dirty in the PDE
    mov dword [0x802000], 0x99          ; phys 0x6000: supervisor write to a user page
    mov eax, [0x800000]                 ; read-only page: reads are fine
    mov dword [EXC_RESUME], a0
f0: mov dword [0x800000], 0xAB          ; WP=1: #PF(P|W)
a0: mov dword [EXC_RESUME], a1
f1: mov eax, [0x801000]                 ; not present: #PF(0)
a1: mov dword [EXC_RESUME], a2
f2: mov dword [0x801004], 1             ; #PF(W)
a2: mov eax, cr0
    and eax, ~0x10000                   ; WP = 0: supervisor writes ignore R/W
    mov cr0, eax
    mov dword [0x800000], 0xAB
    mov dword [P32_CONT], done
    ENTER_RING3_32 user
user:
    mov dword [EXC_RESUME], a3
    mov eax, [0x802008]                 ; PDE 2 is supervisor: #PF(U|P)
a3: mov dword [EXC_RESUME], a4
    mov dword [0x800010], 1             ; #PF(U|W|P)
a4: int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
