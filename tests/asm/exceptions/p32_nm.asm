; #NM (SDM Vol. 3A 6.15, Interrupt 7; 2.5 CR0.TS/EM/MP): with CR0.TS=1 an x87 instruction
; faults; with MP=1 and TS=1 WAIT faults too; after CLTS both run. With EM=1 x87 faults.
; start: prot32
; load: 0x100000
; expect: exc.count=3
; expect: exc[0].vector=7 exc[0].rip=@f1 exc[0].error=0
; expect: exc[1].vector=7 exc[1].rip=@f2
; expect: exc[2].vector=7 exc[2].rip=@f3
; expect: rbx=0x600d cr0&0xE=0x2
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, cr0
    or eax, 0xA                         ; MP | TS
    mov cr0, eax
    mov dword [EXC_RESUME], a1
f1: fninit
a1: mov dword [EXC_RESUME], a2
f2: fwait
a2: clts
    fninit
    fwait
    mov eax, cr0
    or eax, 0x4                         ; EM
    mov cr0, eax
    mov dword [EXC_RESUME], a3
f3: fld1
a3: mov eax, cr0
    and eax, ~0x4
    mov cr0, eax
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
