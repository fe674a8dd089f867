; Where there is no interrupt shadow (SDM Vol. 2B STI, POPF; Vol. 3A 6.8.3; Vol. 3C guest
; interruptibility state: "blocking by STI" needs IF = 0 before the STI): STI with IF = 1
; leaves the next boundary open; POPF and IRET that set IF let a pending interrupt in at
; once, at the boundary right after them.
; start: prot32
; load: 0x100000
; irq: 0x30 at @a1
; irq: 0x31 at @c0
; irq: 0x32 at @c1
; expect: exc.count=3
; expect: exc[0].vector=0x30 exc[0].rip=@a1
; expect: exc[1].vector=0x31 exc[1].rip=@p1
; expect: exc[2].vector=0x32 exc[2].rip=@t1
; expect: rsi=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    xor esi, esi
    sti
    nop
    sti                                 ; IF was 1: no shadow
a1: nop
    cli
c0: nop                                 ; 0x31 arrives with IF = 0
    pushfd
    or dword [esp], 0x200
    popfd                               ; IF = 1, no shadow
p1: inc esi                             ; not before the interrupt
    dec esi
    cli
c1: pushfd                              ; 0x32 arrives with IF = 0
    or dword [esp], 0x200
    push cs
    push t1
    iretd                               ; IF = 1, no shadow
t1: inc esi
    dec esi
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
