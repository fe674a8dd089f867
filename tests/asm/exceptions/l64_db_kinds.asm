; #DB kinds in 64-bit mode (SDM Vol. 3A 17.2, 17.3.1): an instruction breakpoint at a
; 64-bit address (fault, RF = 0 pushed; the handler sets RF); an 8-byte write breakpoint
; (LEN = 10b, 64-bit mode only) hit by a misaligned store that overlaps it (trap after);
; an I/O breakpoint (CR4.DE) on IN; general detect (DR7.GD) on MOV from DR7, with BD in
; DR6 and GD cleared on entry. Frames are 64-bit; DR6 is logged per event.
; start: long64
; load: 0x100000
; expect: exc.count=4
; expect: exc[0].vector=1 exc[0].rip=@bp_insn mem64[0xA000]&0xE00F=1
; expect: mem64[0xA100]&0x10000=0
; expect: exc[1].vector=1 exc[1].rip=@d1 mem64[0xA008]&0xE00F=2
; expect: exc[2].vector=1 exc[2].rip=@d2 mem64[0xA010]&0xE00F=8
; expect: exc[3].vector=1 exc[3].rip=@g3 mem64[0xA018]&0xE00F=0x2000
; expect: rsi=1 rdx=0x2FF dr7&0x2000=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov eax, 1
    lea rbx, [rel db_handler]
    call exc_set_handler64
    mov rax, cr4
    or eax, 1 << 3                      ; DE
    mov cr4, rax
    lea rax, [rel bp_insn]
    mov dr0, rax
    mov eax, 0xA208                     ; 8 bytes 0xA208-0xA20F
    mov dr1, rax
    mov eax, 0x71
    mov dr3, rax
    xor eax, eax
    mov dr6, rax
    xor esi, esi
    ; L0, L1, L3; RW1 = 01 LEN1 = 10 (8 bytes); RW3 = 10 LEN3 = 00
    mov eax, 0x45 | (1 << 20) | (2 << 22) | (2 << 28)
    mov dr7, rax
    mov rdx, rax
bp_insn:
    inc esi
    mov dword [0xA206], 0               ; bytes 0xA206-0xA209 overlap DR1's range
d1: in al, 0x71
d2: or edx, 0x2000
    mov dr7, rdx                        ; GD
    mov edx, 0x2FF
g3: mov rax, dr7                        ; BD fault before the MOV
    mov ebx, 0x600d
    hlt

db_handler:
    push rax
    push rdx
    mov rax, [EXC_COUNT]
    mov rdx, dr6
    mov [0xA000 + rax * 8], rdx
    mov rdx, [rsp + 32]                 ; frame: rdx rax rip cs rflags
    mov [0xA100 + rax * 8], rdx
    or qword [rsp + 32], 0x10000        ; RF
    xor edx, edx
    mov dr6, rdx
    pop rdx
    pop rax
    jmp exc_stubs64 + 16
%include "long64.inc"
