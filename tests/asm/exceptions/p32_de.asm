; #DE in protected mode (SDM Vol. 3A 6.15, Interrupt 0): DIV by zero is a fault with no
; error code; the frame holds the DIV's EIP, CS and EFLAGS, no stack switch at CPL 0.
; start: prot32
; load: 0x100000
; expect: exc.count=1 exc[0].vector=0 exc[0].error=0 exc[0].rip=@fault exc[0].cs=0x08
; expect: exc[0].rflags&0x20302=0x202 exc[0].rsp=0x80000 exc[0].ss=0x10 rbx=0x600d
; expect: rax=1 rflags&0x200=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov dword [EXC_RESUME], after
    xor ecx, ecx
    xor edx, edx
    mov eax, 1
    pushfd
    or dword [esp], 0x200               ; IF=1 in the frame; the gate clears it
    popfd
fault:
    div ecx
after:
    cli
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
