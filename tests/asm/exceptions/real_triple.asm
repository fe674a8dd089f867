; Shutdown in real mode (SDM Vol. 3A 20.1.4, 6.15 Interrupt 8): with an IVT limit of 3
; (vector 0 only), INT 0x21 is #GP; delivering the #GP (entry 13 beyond the limit) faults
; again, which is a double fault; its entry (8) is beyond the limit too, so the
; processor shuts down (triple fault). The run reports the first exception.
; start: real
; load: 0x1000
; stack: 0x7000
; expect: triple_faults=1 exc.count=0
; expect-stop: shutdown
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    lidt [tiny_ivt]
    int 0x21
    hlt
tiny_ivt: dw 3
          dd 0
