; MOV SS / POP SS hold back a data breakpoint they hit (SDM Vol. 3A 6.8.3; 17.3.1.2): the
; #DB trap for a breakpoint on the memory operand of MOV SS (or the stack slot POP SS
; reads) is delivered after the NEXT instruction, with DR6.Bn set, not right after the
; MOV SS.
; start: prot32
; load: 0x100000
; expect: exc.count=2
; expect: exc[0].vector=1 exc[0].rip=@after1 mem32[0xA000]&0xF=2
; expect: exc[1].vector=1 exc[1].rip=@after2 mem32[0xA004]&0xF=2
; expect: rsi=2 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 1
    mov ebx, db_handler
    call exc_set_handler32
    mov word [0xA300], 0x10
    mov eax, 0xA300
    mov dr1, eax
    mov eax, 0x4 | (3 << 20) | (1 << 22)   ; L1, RW1 = 11 (read/write), LEN1 = 01
    mov dr7, eax
    xor esi, esi
    mov ss, [0xA300]                    ; hits B1: held by the MOV SS shadow
    inc esi
after1:
    mov eax, esp
    mov esp, 0xA300
    pop ss                              ; reads 0xA300: held as well
    mov esp, eax                        ; (the handler must not push near 0xA300)
after2:
    inc esi
    mov ebx, 0x600d
    hlt
db_handler:
    push eax
    push ebx
    mov ebx, [EXC_COUNT]
    mov eax, dr6
    mov [0xA000 + ebx * 4], eax
    xor eax, eax
    mov dr6, eax
    pop ebx
    pop eax
    jmp exc_stubs32 + 16
%include "prot32.inc"
