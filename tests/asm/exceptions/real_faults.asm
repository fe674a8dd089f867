; Exceptions in real mode (SDM Vol. 3A 20.1.4): delivery through the IVT at 0 pushes FLAGS,
; CS, IP (no error codes) and clears IF, TF and AC; #DE and #BR and #UD are faults (IP of the
; instruction), INT3, INTO and INT n are traps (IP after).
; start: real
; load: 0x1000                   -- the stubs are long: keep clear of EXC_LOG at 0x7FF0
; stack: 0x7000
; expect: exc.count=6
; expect: exc[0].vector=0 exc[0].rip=@f0 exc[0].cs=0 exc[0].rsp=0x7000
; expect: exc[0].rflags&0x200=0x200
; expect: exc[1].vector=3 exc[1].rip=@a1
; expect: exc[2].vector=4 exc[2].rip=@a2
; expect: exc[3].vector=5 exc[3].rip=@f3
; expect: exc[4].vector=6 exc[4].rip=@f4
; expect: exc[5].vector=0x21 exc[5].rip=@a5
; expect: rbx=0x600d rflags&0x200=0x200
; expect-stop: halted
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    call exc_install16
    sti
    mov word [EXC_RESUME], a0
    xor cx, cx
    mov ax, 1
    xor dx, dx
f0: div cx
a0: int3
a1: mov al, 0x7F
    add al, 1
    into
a2: mov word [EXC_RESUME], a3
    mov ax, 20
f3: bound ax, [bounds]
a3: mov word [EXC_RESUME], a4
f4: ud2
a4: int 0x21
a5: mov bx, 0x600d
    hlt
bounds: dw 0, 10
%include "exc16.inc"
