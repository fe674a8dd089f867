; Several events at one boundary (SDM Vol. 3A 6.9, Table 6-2): an NMI (priority 5) goes
; before a maskable interrupt (6); the interrupt waits through the NMI handler (its
; interrupt gate cleared IF) and is delivered after the IRET, before the interrupted
; instruction. A single-step trap (4) goes before an NMI: the #DB is delivered first and
; the NMI (not blocked by a #DB handler) at the handler's first instruction, so the NMI
; is logged before the #DB that it interrupted.
; start: prot32
; load: 0x100000
; irq: 0x30 at @l0
; nmi: at @l0
; nmi: at @y
; expect: exc.count=4
; expect: exc[0].vector=2 exc[0].rip=@l0
; expect: exc[1].vector=0x30 exc[1].rip=@l0
; expect: exc[2].vector=2 exc[2].rip=@db_handler
; expect: exc[3].vector=1 exc[3].rip=@y
; expect: rsi=1 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 1
    mov ebx, db_handler
    call exc_set_handler32
    xor esi, esi
    sti
    nop
l0: inc esi
    pushfd
    or dword [esp], 0x100               ; TF
    popfd
x:  nop                                 ; traps after it
y:  mov ebx, 0x600d
    hlt
db_handler:                             ; drops TF, then the recorder
    and dword [esp + 8], ~0x100
    jmp exc_stubs32 + 16
%include "prot32.inc"
