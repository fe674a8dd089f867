; Segment faults in protected mode (SDM Vol. 2B MOV "Protected Mode Exceptions",
; Vol. 3A 5.3-5.6): a selector beyond the GDT limit -> #GP(selector); an execute-only code
; selector into DS -> #GP(selector); a write through a read-only data segment -> #GP(0);
; an offset beyond the limit -> #GP(0); a not-present data segment -> #NP(selector);
; a not-present segment into SS -> #SS(selector); a null selector into SS -> #GP(0).
; DS stays unchanged by each failed load.
; start: prot32
; load: 0x100000
; expect: exc.count=7
; expect: exc[0].vector=13 exc[0].error=0x1000 exc[0].rip=@f0
; expect: exc[1].vector=13 exc[1].error=0x58 exc[1].rip=@f1
; expect: exc[2].vector=13 exc[2].error=0 exc[2].rip=@f2
; expect: exc[3].vector=13 exc[3].error=0 exc[3].rip=@f3
; expect: exc[4].vector=11 exc[4].error=0x40 exc[4].rip=@f4
; expect: exc[5].vector=12 exc[5].error=0x40 exc[5].rip=@f5
; expect: exc[6].vector=13 exc[6].error=0 exc[6].rip=@f6
; expect: ds=0x10 ss=0x10 mem32[0xA000]=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov dword [EXC_RESUME], a0
    mov ax, 0x1000
f0: mov ds, ax
a0: mov dword [EXC_RESUME], a1
    mov ax, 0x58
f1: mov ds, ax
a1: mov dword [EXC_RESUME], a2
    mov ax, 0x50
    mov es, ax                          ; read-only data: loading is fine
f2: mov dword [es:0xA000], 1
a2: mov dword [EXC_RESUME], a3
    mov ax, 0x48
    mov es, ax                          ; limit 0xFFF
    mov eax, [es:0xFFC]                 ; last dword inside the limit: fine
f3: mov eax, [es:0xFFE]
a3: mov dword [EXC_RESUME], a4
    mov ax, 0x10
    mov es, ax
    mov ax, 0x40
f4: mov ds, ax
a4: mov dword [EXC_RESUME], a5
f5: mov ss, ax
a5: mov dword [EXC_RESUME], a6
    xor eax, eax
f6: mov ss, ax
a6: hlt
%include "prot32.inc"
