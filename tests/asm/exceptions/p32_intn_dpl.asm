; Software interrupts and gate DPL (SDM Vol. 3A 6.12.1.1): INT n, INT3 and INTO from CPL 3
; through a DPL-0 gate -> #GP(vector*8+2); INT1 (ICEBP) is not checked; a vector beyond
; the IDT limit -> #GP(vector*8+2) too. INT n through a DPL-3 gate switches to the ring-0
; stack and pushes SS:ESP.
; start: prot32
; load: 0x100000
; expect: exc.count=5
; expect: exc[0].vector=13 exc[0].error=0x182 exc[0].rip=@f0 exc[0].cs=0x1B
; expect: exc[1].vector=13 exc[1].error=0x1A exc[1].rip=@f1
; expect: exc[2].vector=1 exc[2].rip=@a2
; expect: exc[3].vector=0x31 exc[3].rip=@a3 exc[3].cs=0x1B exc[3].rsp=0x60000 exc[3].ss=0x23
; expect: exc[4].vector=13 exc[4].error=0x402 exc[4].rip=@f4
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 0x31
    call exc_gate_dpl3_32
    mov dword [P32_CONT], done
    ENTER_RING3_32 user
user:
    mov dword [EXC_RESUME], a0
f0: int 0x30
a0: mov dword [EXC_RESUME], a1
f1: int3
a1: db 0xF1
a2: int 0x31
a3: mov dword [EXC_RESUME], a4
f4: int 0x80
a4: int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
