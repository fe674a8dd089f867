; Event priority at one boundary (SDM Vol. 3A 6.9, Table 6-2): a single-step trap of the
; previous instruction (priority 4) goes before a maskable interrupt (priority 6). POPF
; sets TF and IF: the NOP after it traps; the interrupt arrives at the same boundary and
; is delivered after the #DB handler's IRET, before the next instruction. The #DB
; handler clears TF in its frame so that stepping stops.
; start: prot32
; load: 0x100000
; irq: 0x30 at @y
; expect: exc.count=2
; expect: exc[0].vector=1 exc[0].rip=@y mem32[0xA004]&0x300=0x300
; expect: exc[1].vector=0x30 exc[1].rip=@y exc[1].rflags&0x300=0x200
; expect: mem32[0xA000]&0x4000=0x4000 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 1
    mov ebx, db_handler
    call exc_set_handler32
    cli
    pushfd
    or dword [esp], 0x300               ; TF, IF
    popfd                               ; no trap after the POPF that sets TF
x:  nop                                 ; traps after it
y:  mov ebx, 0x600d
    hlt

db_handler:                             ; logs DR6 and EFLAGS, drops TF, then the recorder
    push eax
    mov eax, dr6
    mov [0xA000], eax
    mov eax, [esp + 12]                 ; the frame's EFLAGS (TF and IF set)
    mov [0xA004], eax
    and dword [esp + 12], ~0x100        ; the IRET does not restore TF
    pop eax
    jmp exc_stubs32 + 16
%include "prot32.inc"
