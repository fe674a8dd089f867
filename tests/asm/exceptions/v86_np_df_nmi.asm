; More events from virtual-8086 mode (SDM Vol. 3A 20.3.1, 6.15, 6.7): with IOPL = 3, INT n
; to a not-present DPL-3 gate is #NP(vector * 8 + 2) (with DPL 0 the DPL check, which
; comes first, gives #GP(vector * 8 + 2)); an NMI is delivered through gate 2 with
; the v8086 frame; a #GP whose gate is not present becomes #DF (error 0), delivered
; through gate 8 with the v8086 SS:SP and EFLAGS.VM in its frame.
; The test is loaded at 0x20000 so v8086 IPs are label - 0x20000 (CS 0x2000).
; start: prot32
; load: 0x20000
; nmi: at @n1
; expect: exc.count=3
; expect: exc[0].vector=11 exc[0].error=0x182 exc[0].rip=@f0-0x20000 exc[0].cs=0x2000
; expect: exc[1].vector=2 exc[1].rip=@n1-0x20000 exc[1].rflags&0x20000=0x20000
; expect: exc[1].ss=0x5000 exc[1].rsp=0x1000
; expect: exc[2].vector=8 exc[2].error=0 exc[2].rip=@f2-0x20000
; expect: exc[2].rflags&0x20000=0x20000
; expect: double_faults=1 mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov eax, 6                          ; #UD ends the test
    mov ebx, finish
    call exc_set_handler32
    mov byte [EXC_IDT + 0x30 * 8 + 5], 0x6E ; gate 0x30: DPL 3, not present
    push dword 0                        ; GS
    push dword 0                        ; FS
    push dword 0                        ; DS
    push dword 0                        ; ES
    push dword 0x5000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x23002                  ; EFLAGS: VM, IOPL = 3
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd

bits 16
v86:
    mov dword [EXC_RESUME], a0 - $$
f0: int 0x30                            ; #NP(0x182)
a0: nop
n1: nop                                 ; the NMI arrives here
    and byte [EXC_IDT + 13 * 8 + 5], 0x7F ; #GP gate not present (no paging: writable)
    mov dword [EXC_RESUME], a2 - $$
f2: hlt                                 ; privileged: #GP -> #NP -> #DF
a2: ud2

bits 32
finish:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
