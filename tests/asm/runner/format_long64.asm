; The runner itself: a long64 start (the loader contract's state) and the limit stop.
; start: long64
; load: 0x100000
; expect: mode=long64 cs=0x08 cr0=0x80050033 efer&0x500=0x500 r15=0x123456789abcdef0
; expect-stop: limit
; max-insns: 3
bits 64
org 0x100000
    mov r15, 0x123456789abcdef0
    jmp $
