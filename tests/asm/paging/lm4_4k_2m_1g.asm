; 4-level paging (SDM Vol. 3A 4.5): 4 KiB, 2 MiB and 1 GiB mappings; U/S, R/W and XD
; combine across levels (4.6: user access needs U=1 at every level, writes need R/W=1 at
; every level when CR0.WP=1 or CPL 3, XD at any level forbids fetches); #PF error codes
; with CR2; a reserved bit in a PTE sets error bit 3; A bits at every level, D only in the
; leaf. Tables at 0x20000.. (PML4 0x20000, PDPT 0x21000, PD 0x22000, PT 0x23000).
; Linear 0x40000000 (1 GiB page) -> phys 0 supervisor RW; 0x80000000 -> PD: [0] 2 MiB page
; -> phys 0x800000 user RO, [1] -> PT: [0] -> 0x5000 user RW XD, [1] -> 0x6000 reserved bit
; 51 set, [2] -> 0x7000 user RW.  PML4/PDPT entries are user RW.
; start: long64
; load: 0x100000
; expect: mem64[0xA000]=0x1122334455667788 mem64[0xA008]=0x1122334455667788
; expect: exc.count=6
; expect: exc[0].vector=14 exc[0].error=0x3 exc[0].cr2=0x80000010
; expect: exc[1].vector=14 exc[1].error=0x11 exc[1].cr2=0x80200000 exc[1].rip=0x80200000
; expect: exc[2].vector=14 exc[2].error=0x9 exc[2].cr2=0x80201000
; expect: exc[3].vector=14 exc[3].error=0x5 exc[3].cr2=0x40000000 exc[3].cs=0x2B
; expect: exc[4].vector=14 exc[4].error=0x7 exc[4].cr2=0x80000020
; expect: exc[5].vector=14 exc[5].error=0x4 exc[5].cr2=0xC0000000
; expect: mem64[0x5000]=0x42 mem64[0x7000]=0x77
; expect: mem64[0x20000]&0x60=0x20 mem64[0x21000]&0x20=0x20 mem64[0x21008]&0x60=0x20
; expect: mem64[0x22000]&0x60=0x20 mem64[0x23010]&0x60=0x60 mem64[0x23000]&0x60=0x60
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
PML4 equ 0x20000
PDPT equ 0x21000
PD   equ 0x22000
PT   equ 0x23000
    call long64_setup                   ; user identity map at 0xE000 (1 GiB pages)
    mov rax, 0x1122334455667788
    mov [0x800000], rax
    mov qword [PML4], PDPT | 7
    mov qword [PDPT + 0 * 8], 0x87      ; 0-1 GiB identity, user RW (code, stacks, tables)
    mov qword [PDPT + 1 * 8], 0x83      ; 1 GiB page -> phys 0, supervisor RW
    mov qword [PDPT + 2 * 8], PD | 7
    mov qword [PD + 0], 0x800000 | 0x85 ; 2 MiB page, user, read-only
    mov qword [PD + 8], PT | 7
    mov rax, 0x8000000000005007         ; XD
    mov [PT + 0], rax
    mov rax, 0x0008000000006007         ; bit 51: reserved (MAXPHYADDR < 52)
    mov [PT + 8], rax
    mov qword [PT + 16], 0x7007
    mov byte [0x5000], 0xC3
    mov eax, PML4
    mov cr3, rax
    mov rbx, 0x80000000                 ; above 2 GiB: through a register
    mov rax, [rbx]                      ; via the 2 MiB page
    mov [0xA000], rax
    mov rax, [0x40800000]               ; via the 1 GiB page
    mov [0xA008], rax
    mov qword [rbx + 0x200000], 0x42    ; phys 0x5000 (XD does not stop writes)
    mov qword [rbx + 0x202000], 0x77
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov qword [rbx + 0x10], 1           ; read-only, WP=1: #PF(P|W)
a0: lea rax, [rel a1]
    mov [EXC_RESUME], rax
    mov rax, 0x80200000
    call rax                            ; XD: #PF(I|P)
a1: lea rax, [rel a2]
    mov [EXC_RESUME], rax
    mov rax, [rbx + 0x201000]           ; reserved bit: #PF(RSVD|P)
a2: lea rax, [rel done]
    mov [L64_CONT], rax
    ENTER_RING3_64 user
user:
    lea rax, [rel a3]
    mov [EXC_RESUME], rax
    mov rax, [0x40000000]               ; supervisor 1 GiB page: #PF(U|P)
a3: lea rax, [rel a4]
    mov [EXC_RESUME], rax
    mov rbx, 0x80000000
    mov qword [rbx + 0x20], 1           ; user read-only: #PF(U|W|P)
a4: lea rax, [rel a5]
    mov [EXC_RESUME], rax
    mov rax, [rbx + 0x40000000]         ; PDPTE 3 not present: #PF(U)
a5: int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "long64.inc"
