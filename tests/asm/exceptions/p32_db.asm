; #DB in protected mode (SDM Vol. 3A 17.3.1): INT1 (ICEBP) traps to vector 1 with EIP
; after it; single-step: POPF setting TF traps after the NEXT instruction (17.3.1.4), and
; DR6.BS is set. The single-step handler clears TF in its frame.
; start: prot32
; load: 0x100000
; expect: exc.count=1 exc[0].vector=1 exc[0].rip=@after_icebp
; expect: mem32[0xA000]=@after_nop mem32[0xA004]&0x4000=0x4000 mem32[0xA008]=1
; expect: mem32[0xA00C]&0x100=0x100 rflags&0x100=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    db 0xF1                             ; INT1
after_icebp:
    mov eax, 1
    mov ebx, step_handler
    call exc_set_handler32
    xor eax, eax
    mov dr6, eax
    pushfd
    or dword [esp], 0x100
    popfd                               ; TF = 1 from here; no trap after the POPF itself
    nop
after_nop:
    hlt

step_handler:
    push eax
    mov eax, [esp + 4]
    mov [0xA000], eax                   ; EIP of the trap
    mov eax, dr6
    mov [0xA004], eax
    inc dword [0xA008]
    mov eax, [esp + 12]
    mov [0xA00C], eax                   ; EFLAGS with TF as the trap saw it
    and dword [esp + 12], ~0x100        ; no more single steps
    pop eax
    iretd
%include "prot32.inc"
