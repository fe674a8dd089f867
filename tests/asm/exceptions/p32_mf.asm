; #MF (SDM Vol. 3A 6.15, Interrupt 16; Vol. 1 8.7): with CR0.NE=1 an unmasked x87
; exception (zero divide, FCW.ZM=0) is reported on the next waiting x87 instruction,
; whose EIP the frame holds; FSW.ES and ZE stay set until FNCLEX.
; start: prot32
; load: 0x100000
; expect: exc.count=1 exc[0].vector=16 exc[0].error=0 exc[0].rip=@f0
; expect: mem16[0xA000]&0x84=0x84 mem16[0xA002]&0x80=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    fninit
    fldcw [fcw]
    fld1
    fldz
    fdivp st1, st0                      ; 1/0: ZE pending
    mov dword [EXC_RESUME], a0
f0: fwait
a0: fnstsw [0xA000]
    fnclex
    fnstsw [0xA002]
    hlt
fcw: dw 0x037B                          ; ZM (bit 2) clear
%include "prot32.inc"
