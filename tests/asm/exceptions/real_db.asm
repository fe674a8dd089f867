; #DB in real mode (SDM Vol. 3A 17.2, 17.3.1, 20.1.4): debug registers work with real-mode
; linear addresses; an instruction breakpoint is a fault (IP of the instruction, which
; then runs once the handler disables the breakpoint: a 16-bit IRET cannot restore RF);
; a data write breakpoint traps after the store (DR6.B1); single-step from POPF setting
; TF traps after the next instruction (DR6.BS). Delivery through the IVT.
; start: real
; load: 0x1000
; stack: 0x7000
; expect: exc.count=3
; expect: exc[0].vector=1 exc[0].rip=@bp_insn mem32[0xA000]&0xE00F=1
; expect: exc[1].vector=1 exc[1].rip=@d1 mem32[0xA004]&0xE00F=2
; expect: exc[2].vector=1 exc[2].rip=@s1 mem32[0xA008]&0x4000=0x4000
; expect: rsi&0xffff=1 rbx&0xffff=0x600d rflags&0x100=0
; expect-stop: halted
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    call exc_install16
    mov word [1 * 4], db16
    xor eax, eax
    mov dr6, eax
    mov eax, bp_insn
    mov dr0, eax
    mov eax, 0xA200
    mov dr1, eax
    mov eax, 0x5 | (1 << 20) | (1 << 22)   ; L0 (execute), L1: RW = 01, LEN = 01 (2 bytes)
    mov dr7, eax
    xor si, si
bp_insn:
    inc si
    mov [0xA200], si
d1: pushf
    pop ax
    or ax, 0x100
    push ax
    popf                                ; TF: traps after the next instruction
    nop
s1: mov bx, 0x600d
    hlt

db16:                                   ; DR6 per event; breakpoint 0 off; TF off
    push bp
    mov bp, sp
    push eax
    push ebx
    mov ebx, [EXC_COUNT]
    mov eax, dr6
    mov [0xA000 + ebx * 4], eax
    and word [bp + 6], ~0x100
    mov eax, dr7
    and al, ~1
    mov dr7, eax
    xor eax, eax
    mov dr6, eax
    pop ebx
    pop eax
    pop bp
    jmp 0:exc_stubs16 + 16
%include "exc16.inc"
