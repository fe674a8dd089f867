; An interrupt during REP MOVS (SDM Vol. 2B REP; Vol. 3A 6.6): the string instruction is
; interrupted between iterations with ECX, ESI and EDI describing the iterations done and
; EIP on the REP instruction itself; after IRET it resumes and completes the copy. The
; interrupt arrives at the second boundary with EIP on the REP (after the first chunk
; the simulator runs); the handler checks that it saw a partial copy: ECX strictly
; between 0 and the count, and ECX + (EDI - destination) = the count.
; start: prot32
; load: 0x100000
; irq: 0x30 at @r0#2
; expect: exc.count=1 exc[0].vector=0x30 exc[0].rip=@r0
; expect: mem32[0xA008]=100000 mem32[0xA00C]=1
; expect: rcx=0 rdi=0x4186A0 mem32[0x41869C]=0x5A5A5A5A
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
COUNT equ 100000
SRC   equ 0x200000
DST   equ 0x400000
    call prot32_setup
    mov eax, 0x30
    mov ebx, irq30
    call exc_set_handler32
    mov edi, SRC
    mov ecx, COUNT / 4
    mov eax, 0x5A5A5A5A
    rep stosd
    mov esi, SRC
    mov edi, DST
    mov ecx, COUNT
    cld
    sti
    nop
r0: rep movsb
    mov ebx, 0x600d
    hlt

irq30:
    mov [0xA000], ecx
    mov [0xA004], edi
    push eax
    mov eax, edi
    sub eax, DST
    add eax, ecx
    mov [0xA008], eax                   ; = COUNT
    xor eax, eax
    cmp ecx, 0
    je .no
    cmp ecx, COUNT
    je .no
    inc eax
.no:
    mov [0xA00C], eax                   ; 1: interrupted in the middle
    pop eax
    jmp exc_stubs32 + 0x30 * 16
%include "prot32.inc"
