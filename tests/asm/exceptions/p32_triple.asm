; Triple fault (SDM Vol. 3A 6.15 Interrupt 8): with an IDT limit of 0, #DE cannot be
; delivered (#GP), nor can the #DF that follows; the processor shuts down.
; start: prot32
; load: 0x100000
; expect: rbx=0x1234
; expect-stop: shutdown
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov ebx, 0x1234
    lidt [empty_idtr]
    xor ecx, ecx
    div ecx
    mov ebx, 0xbad
    hlt
empty_idtr: dw 0
            dd 0
%include "prot32.inc"
