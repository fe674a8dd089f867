; 5-level paging permissions and canonical addresses (SDM Vol. 3A 4.5, 4.6, 4.7; 3.3.7.1;
; 6.15 #SS/#GP): each alias below maps phys 0-1 GiB through its own PML5 entry with one
; restriction at one level; the #PF error code (P W U I bits) and CR2 are exact.
;   alias 1 (PML5 index 1): PML5E U/S = 0          -> user read  #PF(5)
;   alias 2: PML5E R/W = 0 -> supervisor write (CR0.WP) #PF(3), user write #PF(7)
;   linear 1 GiB (PML5 index 0): PDPTE XD = 1 -> supervisor fetch #PF(0x11), user #PF(0x15)
;   alias 4: PML4E U/S = 0 -> user read #PF(5); alias 5: PDPTE R/W = 0 -> user write #PF(7)
;   alias 6: PML5E not present -> user read #PF(4); index 0xFF: supervisor read #PF(0)
; With LA57, 0x00FF000000000000 is canonical (#PF, not #GP), 0x0100000000000000 is not:
; #GP(0) for a data access, #SS(0) for an RBP-based (stack) access and for a PUSH with a
; non-canonical RSP (delivered on IST1), #GP(0) for a jump to it (RIP of the jump).
; (XD at the PML5E is pending/paging/la57_xd_pml5e.asm: near branches check 48-bit
; canonicality.)
; start: prot32
; load: 0x100000
; expect: exc.count=14
; expect: exc[0].vector=14 exc[0].error=3 exc[0].cr2=0x200000000A000 exc[0].rip=@f0
; expect: exc[1].vector=14 exc[1].error=0x11 exc[1].cr2=0x4000A800
; expect: exc[1].rip=0x4000A800
; expect: exc[2].vector=14 exc[2].error=0 exc[2].cr2=0xFF000000000000 exc[2].rip=@f2
; expect: exc[3].vector=13 exc[3].error=0 exc[3].rip=@f3 exc[3].cr2=0xFF000000000000
; expect: exc[4].vector=12 exc[4].error=0 exc[4].rip=@f4
; expect: exc[5].vector=14 exc[5].error=5 exc[5].cr2=0x100000000A008 exc[5].rip=@u0
; expect: exc[5].cs=0x6B exc[5].ss=0x23 exc[5].rsp=0x60000
; expect: exc[6].vector=14 exc[6].error=7 exc[6].cr2=0x200000000A010 exc[6].rip=@u1
; expect: exc[7].vector=14 exc[7].error=0x15 exc[7].cr2=0x4000A800 exc[7].rip=0x4000A800
; expect: exc[8].vector=14 exc[8].error=5 exc[8].cr2=0x400000000A018 exc[8].rip=@u3
; expect: exc[9].vector=14 exc[9].error=7 exc[9].cr2=0x500000000A020 exc[9].rip=@u4
; expect: exc[10].vector=14 exc[10].error=4 exc[10].cr2=0x600000000A028 exc[10].rip=@u5
; expect: exc[11].vector=14 exc[11].error=5 exc[11].cr2=0x100000000A030
; expect: exc[12].vector=12 exc[12].error=0 exc[12].rip=@f12 mem64[0xA200]=0x100000000001000
; expect: exc[13].vector=13 exc[13].error=0 exc[13].rip=@f13
; expect: mem64[0xA100]=0x1122334455667788 rbx=0x600d mode=long64
; expect-stop: halted
%define KCODE64 0x60
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PML5  equ 0x20000
PML4  equ 0x21000
PDPT  equ 0x22000
ALIAS equ 0x23000                       ; alias i: PML4 at ALIAS + i * 0x2000, PDPT + 0x1000
%macro ALIASMAP 4                       ; index, PML5E flags, PML4E flags, PDPTE flags
    mov dword [PML5 + (%1) * 8], (ALIAS + (%1) * 0x2000) | ((%2) & 0xFFF)
    mov dword [PML5 + (%1) * 8 + 4], (%2) >> 32
    mov dword [ALIAS + (%1) * 0x2000], (ALIAS + (%1) * 0x2000 + 0x1000) | (%3)
    mov dword [ALIAS + (%1) * 0x2000 + 0x1000], 0x80 | (%4)
%endmacro
XD equ 0x8000000000000000
    call prot32_setup
    mov dword [PML5], PML4 | 7
    mov dword [PML4], PDPT | 7
    mov dword [PDPT], 0x87              ; 0-1 GiB identity, user, writable
    ALIASMAP 1, 3, 7, 7
    ALIASMAP 2, 5, 7, 7
    mov dword [PDPT + 8], 0x87          ; 1-2 GiB -> phys 0, XD
    mov dword [PDPT + 12], 0x80000000
    ALIASMAP 4, 7, 3, 7
    ALIASMAP 5, 7, 7, 5
    mov dword [0xA100], 0x55667788
    mov dword [0xA104], 0x11223344
    mov byte [0xA800], 0xC3             ; RET (never runs: XD)
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
    or eax, 0x80010000                  ; PG, WP
    mov cr0, eax
    jmp 0x60:long64
bits 64
long64:
    call exc_install64
    mov ax, 0x70
    ltr ax
    mov eax, 6
    lea rbx, [rel finish]
    call exc_set_handler64
    mov rax, 0x0001000000000000
    mov rax, [rax + 0xA100]             ; alias 1 works for the supervisor
    mov [0xA100], rax
    lea rax, [rel a0]
    mov [EXC_RESUME], rax
    mov rcx, 0x0002000000000000
f0: mov dword [rcx + 0xA000], 1         ; R/W = 0 at the PML5E, CR0.WP = 1
a0: lea rax, [rel a1]
    mov [EXC_RESUME], rax
    mov rcx, 0x4000A800
    call rcx                            ; XD at the PDPTE
a1: lea rax, [rel a2]
    mov [EXC_RESUME], rax
    mov rcx, 0x00FF000000000000         ; canonical with 57 bits, not present
f2: mov rax, [rcx]
a2: lea rax, [rel a3]
    mov [EXC_RESUME], rax
    mov rcx, 0x0100000000000000         ; bit 56 set, bits 63:57 clear: not canonical
f3: mov rax, [rcx]
a3: lea rax, [rel a4]
    mov [EXC_RESUME], rax
    mov rbp, 0x0100000000000000
f4: mov rax, [rbp]                      ; SS segment: #SS(0)
a4: push 0x23
    push 0x60000
    push 0x2
    push 0x6B
    lea rax, [rel user]
    push rax
    iretq
user:
    lea rax, [rel a5]
    mov [EXC_RESUME], rax
    mov rcx, 0x000100000000A008
u0: mov rax, [rcx]                      ; U/S = 0 at the PML5E
a5: lea rax, [rel a6]
    mov [EXC_RESUME], rax
    mov rcx, 0x000200000000A010
u1: mov dword [rcx], 1                  ; R/W = 0 at the PML5E
a6: lea rax, [rel a7]
    mov [EXC_RESUME], rax
    mov rcx, 0x4000A800
    call rcx                            ; XD at the PDPTE
a7: lea rax, [rel a8]
    mov [EXC_RESUME], rax
    mov rcx, 0x000400000000A018
u3: mov rax, [rcx]                      ; U/S = 0 at the PML4E
a8: lea rax, [rel a9]
    mov [EXC_RESUME], rax
    mov rcx, 0x000500000000A020
u4: mov dword [rcx], 1                  ; R/W = 0 at the PDPTE
a9: lea rax, [rel a10]
    mov [EXC_RESUME], rax
    mov rcx, 0x000600000000A028
u5: mov rax, [rcx]                      ; PML5E not present
a10: lea rax, [rel a11]
    mov [EXC_RESUME], rax
    mov rcx, 0x000100000000A030
    mov rax, [rcx]                      ; the TLB must not have cached a user grant
a11: ud2                                ; ends the test (finish)
finish:                                ; ring 0 (the #UD gate), on RSP0
    mov eax, 12
    lea rbx, [rel ss_handler]
    call exc_set_handler64
    mov byte [EXC_IDT + 12 * 16 + 4], 1 ; IST1
    lea rax, [rel a12]
    mov [EXC_RESUME], rax
    mov rbx, rsp
    mov rsp, 0x0100000000001000
f12: push rax                           ; #SS(0) on IST1
a12: mov rsp, rbx
    lea rax, [rel a13]
    mov [EXC_RESUME], rax
    mov rcx, 0x0100000000000000
f13: jmp rcx                            ; #GP(0) at the JMP
a13: mov ebx, 0x600d
    hlt
ss_handler:                             ; keeps the bad RSP, returns with a usable one
    push rax
    mov rax, [rsp + 40]                 ; frame: rax, error, rip, cs, rflags, rsp, ss
    mov [0xA200], rax
    mov qword [rsp + 40], 0x6F000
    pop rax
    jmp exc_stubs64 + 12 * 16
align 16
tss64:
    dd 0
    dq 0x70000                          ; RSP0
    dq 0, 0, 0                          ; RSP1, RSP2, reserved
    dq 0x68000                          ; IST1
    times 0x3C db 0
%include "exc64.inc"
%macro P32_GDT_EXTRA 0
    DESC 0, 0xFFFFF, 0x9A, 0xA          ; 0x60: 64-bit code, ring 0
    DESC 0, 0xFFFFF, 0xFA, 0xA          ; 0x68: 64-bit code, ring 3
    DESC ABS(tss64), 0x67, 0x89, 0x0    ; 0x70: 64-bit TSS (16 bytes)
    dq 0
%endmacro
%include "prot32.inc"
