; #TS (SDM Vol. 3A 6.15, Interrupt 10; 7.3): a far JMP to a TSS descriptor whose limit is
; below 0x67 -> #TS(TSS selector); IRET with NT=1 whose back link has TI=1 -> #TS(back
; link) (Vol. 2A IRET, TASK-RETURN). No task switch happens: TR is still 0x28.
; start: prot32
; load: 0x100000
; expect: exc.count=2
; expect: exc[0].vector=10 exc[0].error=0x60 exc[0].rip=@f0
; expect: exc[1].vector=10 exc[1].error=0x0C exc[1].rip=@f1
; expect: tr=0x28 rflags&0x4000=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov dword [EXC_RESUME], a0
f0: jmp 0x60:0
a0: mov dword [p32_tss], 0x0C           ; back link: TI = 1
    mov dword [EXC_RESUME], a1
    pushfd
    or dword [esp], 0x4000              ; NT
    popfd
f1: iretd
a1: pushfd
    and dword [esp], ~0x4000
    popfd
    hlt
%macro P32_GDT_EXTRA 0
    DESC ABS(small_tss), 0x20, 0x89, 0x0   ; 0x60: available 32-bit TSS, limit too small
%endmacro
align 16
small_tss: times 0x68 db 0
%include "prot32.inc"
