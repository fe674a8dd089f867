; #DF (SDM Vol. 3A 6.15 Interrupt 8, Table 6-5): #DE (contributory) whose IDT gate is not
; present raises #NP (contributory) during delivery -> double fault, error code 0.
; The #DF frame's CS:EIP are undefined; only vector and error are checked.
; start: prot32
; load: 0x100000
; expect: exc.count=1 exc[0].vector=8 exc[0].error=0
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    and byte [EXC_IDT + 0 * 8 + 5], 0x7F   ; vector 0: P = 0
    mov dword [EXC_RESUME], a0
    xor ecx, ecx
    div ecx
a0: mov ebx, 0x600d
    hlt
%include "prot32.inc"
