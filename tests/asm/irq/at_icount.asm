; The icount form of `irq:` (README): an interrupt raised when the instruction count
; reaches 20000, in the middle of a LOOP that runs 100000 times with IF = 1, is taken at
; that boundary (frame EIP on the LOOP, ECX between 0 and the count) and the loop goes on.
; start: prot32
; load: 0x100000
; irq: 0x30 at 20000
; expect: exc.count=1 exc[0].vector=0x30 exc[0].rip=@lp mem32[0xA004]=1
; expect: rcx=0 irq.acks=1 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 0x30
    mov ebx, h30
    call exc_set_handler32
    mov ecx, 100000
    sti
lp: loop lp
    mov ebx, 0x600d
    hlt
h30:
    mov [0xA000], ecx
    cmp ecx, 0
    je .no
    cmp ecx, 100000
    je .no
    mov dword [0xA004], 1
.no:
    jmp exc_stubs32 + 0x30 * 16
%include "prot32.inc"
