; Traps and simple faults in protected mode (SDM Vol. 3A 6.15): INT3 (#BP) and INTO with
; OF=1 (#OF) are traps whose frame EIP is the next instruction; BOUND out of range (#BR)
; and UD2 (#UD) are faults whose frame EIP is the instruction. None has an error code.
; INTO with OF=0 does nothing.
; start: prot32
; load: 0x100000
; expect: exc.count=4
; expect: exc[0].vector=3 exc[0].rip=@after_bp exc[0].error=0
; expect: exc[1].vector=4 exc[1].rip=@after_of
; expect: exc[2].vector=5 exc[2].rip=@bound_insn
; expect: exc[3].vector=6 exc[3].rip=@ud_insn
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    int3
after_bp:
    xor eax, eax                        ; OF = 0: INTO is a no-op
    into
    mov al, 0x7F
    add al, 1                           ; OF = 1
    into
after_of:
    mov dword [EXC_RESUME], after_br
    mov eax, 11
bound_insn:
    bound eax, [bounds]                 ; 11 > upper bound 10
after_br:
    mov dword [EXC_RESUME], after_ud
ud_insn:
    ud2
after_ud:
    hlt
align 4
bounds: dd 0, 10
%include "prot32.inc"
