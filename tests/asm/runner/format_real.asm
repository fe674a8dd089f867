; The runner itself: a real-mode start, registers, masks, memory and the halt stop.
; start: real
; load: 0x7c00
; stack: 0x6000
; init: rsi=0x55
; expect: mode=real cpl=0 cs=0 rax=0x1234 rbx=0xffff rsp=0x6000 rsi=0x56
; expect: rflags&0x1=1 mem16[0xA000]=0xbeef mem8[0xA002]=0x7f rip=@after_hlt
; expect-stop: halted
; max-insns: 100
bits 16
org 0x7c00
    mov ax, 0x1234
    mov bx, -1
    inc si
    mov word [0xA000], 0xbeef
    mov byte [0xA002], 0x7f
    stc
    hlt                 ; RIP stays after the HLT
after_hlt:
