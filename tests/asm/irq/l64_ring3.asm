; External interrupts in IA-32e mode (SDM Vol. 3A 6.12.1.1, 6.14.2, 6.14.5): an interrupt
; that arrives while ring 3 runs goes through a DPL-0 gate (the DPL check is only for
; INT n, INT3 and INTO), switches to RSP0 and pushes SS:RSP of ring 3; a gate with IST1
; switches to the IST1 stack (the handler sees RSP = IST1 - 40, SS:RSP pushed even
; without a privilege change).
; start: long64
; load: 0x100000
; irq: 0x30 at @u1
; irq: 0x31 at @kr1
; expect: exc.count=2
; expect: exc[0].vector=0x30 exc[0].rip=@u1 exc[0].cs=0x2B exc[0].ss=0x23
; expect: exc[0].rsp=0x60000 exc[0].rflags&0x200=0x200
; expect: mem64[0xA000]=0x6FFD8
; expect: exc[1].vector=0x31 exc[1].rip=@kr1 exc[1].cs=0x08 exc[1].rsp=0x7FFF0
; expect: mem64[0xA008]=0x67FD8
; expect: rbx=0x600d irq.acks=2
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov eax, 0x30
    lea rbx, [rel h30]
    call exc_set_handler64
    mov eax, 0x31
    lea rbx, [rel h31]
    call exc_set_handler64
    mov byte [EXC_IDT + 0x31 * 16 + 4], 1   ; IST1
    lea rax, [rel kernel]
    mov [L64_CONT], rax
    push 0x23
    push L64_RING3_SP
    push 0x202                          ; IF = 1
    push 0x2B
    lea rax, [rel user]
    push rax
    iretq
user:
    nop
u1: nop
    int 0x3F
kernel:
    mov rsp, 0x7FFF0
    sti
    nop
kr1: nop
    mov ebx, 0x600d
    hlt
h30:
    mov [0xA000], rsp
    jmp exc_stubs64 + 0x30 * 16
h31:
    mov [0xA008], rsp
    jmp exc_stubs64 + 0x31 * 16
%include "long64.inc"
