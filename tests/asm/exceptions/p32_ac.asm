; #AC (SDM Vol. 3A 6.15, Interrupt 17): CR0.AM=1, EFLAGS.AC=1 and CPL 3 make a misaligned
; data access fault with error code 0; aligned accesses and CPL 0 accesses do not. The
; handler runs on the TSS's ring-0 stack, so the frame has the ring-3 SS:ESP.
; start: prot32
; load: 0x100000
; expect: exc.count=1 exc[0].vector=17 exc[0].error=0 exc[0].rip=@f0 exc[0].cs=0x1B
; expect: exc[0].rsp=0x60000 exc[0].ss=0x23 exc[0].rflags&0x40000=0x40000
; expect: rbx=0x600d cs=0x08 cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, cr0
    or eax, 1 << 18                     ; CR0.AM
    mov cr0, eax
    pushfd
    or dword [esp], 1 << 18             ; AC at CPL 0: no checks
    popfd
    mov eax, [0xA001]
    mov dword [P32_CONT], done
    ENTER_RING3_32 user
user:
    pushfd
    or dword [esp], 1 << 18
    popfd
    mov eax, [0xA004]                   ; aligned
    mov dword [EXC_RESUME], a0          ; ring 3 may write it: flat ring-3 data
f0: mov eax, [0xA001]
a0: int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
