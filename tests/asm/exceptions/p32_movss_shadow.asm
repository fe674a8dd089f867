; MOV SS interrupt shadow (SDM Vol. 3A 6.8.3): the single-step trap of a MOV SS is held
; until after the next instruction, so one #DB arrives with EIP after that instruction.
; start: prot32
; load: 0x100000
; expect: mem32[0xA000]=@after_b mem32[0xA008]=1 mem32[0xA004]&0x4000=0x4000
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 1
    mov ebx, step_handler
    call exc_set_handler32
    mov ax, ss
    pushfd
    or dword [esp], 0x100
    popfd                               ; TF = 1
    mov ss, ax                          ; A: its trap is held by the shadow
    nop                                 ; B
after_b:
    hlt

step_handler:
    push eax
    mov eax, [esp + 4]
    mov [0xA000], eax
    mov eax, dr6
    mov [0xA004], eax
    inc dword [0xA008]
    and dword [esp + 12], ~0x100
    pop eax
    iretd
%include "prot32.inc"
