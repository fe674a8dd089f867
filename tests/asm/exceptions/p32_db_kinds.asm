; The kinds of #DB (SDM Vol. 3A 17.2, 17.3.1): an instruction breakpoint (DR0, RW=00) is a
; fault (EIP of the instruction, which has not executed; RF = 0 in the pushed EFLAGS; the
; handler sets RF so it runs once); data breakpoints are traps after the access (DR1:
; RW=01 4-byte write, a read does not hit; DR2: RW=11 1-byte read/write); an I/O
; breakpoint (CR4.DE = 1, DR3: RW=10) traps after OUT; general detect (DR7.GD) faults on
; the next MOV DR with DR6.BD, and the CPU clears GD on entry to the handler (17.2.4).
; DR6 records the condition that hit each time (B0-B3, BD). The handler clears DR6.
; start: prot32
; load: 0x100000
; expect: exc.count=5
; expect: exc[0].vector=1 exc[0].rip=@bp_insn mem32[0xA000]&0xE00F=1
; expect: mem32[0xA040]&0x10000=0
; expect: exc[1].vector=1 exc[1].rip=@d1 mem32[0xA004]&0xE00F=2
; expect: exc[2].vector=1 exc[2].rip=@d2 mem32[0xA008]&0xE00F=4
; expect: exc[3].vector=1 exc[3].rip=@d3 mem32[0xA00C]&0xE00F=8
; expect: exc[4].vector=1 exc[4].rip=@g4 mem32[0xA010]&0xE00F=0x2000
; expect: rsi=1 rax=@bp_insn dr7&0x2000=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 1
    mov ebx, db_handler
    call exc_set_handler32
    mov eax, cr4
    or eax, 1 << 3                      ; DE: I/O breakpoints
    mov cr4, eax
    mov eax, bp_insn
    mov dr0, eax
    mov eax, 0xA200
    mov dr1, eax
    mov eax, 0xA300
    mov dr2, eax
    mov eax, 0x80
    mov dr3, eax
    xor eax, eax
    mov dr6, eax
    xor esi, esi
    ; L0-L3; RW1=01 LEN1=11; RW2=11 LEN2=00; RW3=10 LEN3=00; RW0=00 LEN0=00
    mov eax, 0x55 | (1 << 20) | (3 << 22) | (3 << 24) | (2 << 28)
    mov dr7, eax
bp_insn:
    inc esi
    mov [0xA200], eax                   ; write: B1
d1: mov eax, [0xA200]                   ; read: RW1 = 01 does not hit
    mov al, [0xA300]                    ; read: B2
d2: mov al, 0x55
    out 0x80, al                        ; B3
d3: mov eax, dr7
    or eax, 0x2000                      ; GD
    mov dr7, eax
g4: mov eax, dr0                        ; BD: a fault before the MOV
    mov ebx, 0x600d
    hlt

; Logs DR6 and the pushed EFLAGS (before RF is set) per event, then the recorder's stub.
db_handler:
    push eax
    push edx
    mov eax, [EXC_COUNT]
    mov edx, dr6
    mov [0xA000 + eax * 4], edx
    mov edx, [esp + 16]
    mov [0xA040 + eax * 4], edx
    or dword [esp + 16], 0x10000        ; RF: the faulting instruction runs once
    xor edx, edx
    mov dr6, edx
    pop edx
    pop eax
    jmp exc_stubs32 + 16
%include "prot32.inc"
