; The runner itself: a prot32 start and the exit device stop.
; start: prot32
; load: 0x100000
; expect: mode=prot32 cs=0x08 ss=0x10 rsp=0x80000 rcx=7 mem32[0x200000]=0xcafef00d
; expect-stop: exit:5
bits 32
org 0x100000
    mov ecx, 7
    mov dword [0x200000], 0xcafef00d
    mov eax, 5
    mov dx, 0xF4
    out dx, eax
    hlt
