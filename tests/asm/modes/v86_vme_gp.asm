; Virtual-8086 mode extensions, the #GP cases (SDM Vol. 2B STI, POPF; Vol. 3A 20.4.2,
; Table 20-2): with CR4.VME = 1 and IOPL < 3, STI while EFLAGS.VIP = 1 is #GP(0); a
; 16-bit POPF whose image has IF = 1 while VIP = 1, or TF = 1, is #GP(0); one with IF = 0
; and TF = 0 works (VIF = 0); a 32-bit POPFD is #GP(0) whatever VME. Each fault leaves
; the stack as it was (the word stays pushed). The test is loaded at 0x20000.
; start: prot32
; load: 0x20000
; expect: exc.count=4
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0-0x20000
; expect: exc[0].rflags&0x120200=0x120200
; expect: exc[1].vector=13 exc[1].error=0 exc[1].rip=@f1-0x20000 exc[1].rsp=0xFFE
; expect: exc[2].vector=13 exc[2].error=0 exc[2].rip=@f2-0x20000 exc[2].rsp=0xFFC
; expect: exc[3].vector=13 exc[3].error=0 exc[3].rip=@f3-0x20000 exc[3].rsp=0xFFA
; expect: mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov eax, cr4
    or eax, 1                           ; VME
    mov cr4, eax
    mov eax, 6                          ; #UD ends the test
    mov ebx, finish
    call exc_set_handler32
    push dword 0                        ; GS
    push dword 0                        ; FS
    push dword 0                        ; DS
    push dword 0                        ; ES
    push dword 0x3000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x120202                 ; EFLAGS: VIP, VM, IF, IOPL = 0
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd

bits 16
v86:
    mov dword [EXC_RESUME], a0 - $$
f0: sti                                 ; VIP = 1: #GP(0)
a0: mov dword [EXC_RESUME], a1 - $$
    push word 0x0202
f1: popf                                ; IF image 1 with VIP = 1: #GP(0)
a1: mov dword [EXC_RESUME], a2 - $$
    push word 0x0102
f2: popf                                ; TF image: #GP(0)
a2: push word 0x0002
    popf                                ; allowed: VIF = 0
    mov dword [EXC_RESUME], a3 - $$
    push word 0
f3: popfd                               ; 32-bit: #GP(0)
a3: ud2
bits 32
finish:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
