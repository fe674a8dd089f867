; Exceptions raised by v8086 code that go through the IDT like in protected mode (SDM
; Vol. 3A 20.3.1, 6.12.1.1: the gate DPL is not checked for exceptions, so the recorder's
; DPL-0 gates work): single-step (#DB trap after the first instruction when the entry
; IRET set TF), #DE and #BR (faults), #UD, and #AC(0) for a misaligned word with CR0.AM
; and EFLAGS.AC (v8086 code runs at CPL 3). Frames hold VM = 1 and the v8086 SS:SP.
; The test is loaded at 0x20000 so v8086 IPs are label - 0x20000 (CS 0x2000).
; start: prot32
; load: 0x20000
; expect: exc.count=5
; expect: exc[0].vector=1 exc[0].rip=@s1-0x20000 exc[0].cs=0x2000 exc[0].ss=0x5000
; expect: exc[0].rflags&0x20000=0x20000 mem32[0xA000]&0x4000=0x4000
; expect: mem32[0xA004]&0x100=0x100
; expect: exc[1].vector=0 exc[1].rip=@f0-0x20000 exc[1].rsp=0x1000
; expect: exc[2].vector=5 exc[2].rip=@f1-0x20000
; expect: exc[3].vector=6 exc[3].rip=@f2-0x20000
; expect: exc[4].vector=17 exc[4].error=0 exc[4].rip=@f3-0x20000
; expect: exc[4].rflags&0x60000=0x60000
; expect: mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov eax, 1
    mov ebx, db_handler
    call exc_set_handler32
    mov eax, cr0
    or eax, 1 << 18                     ; AM
    mov cr0, eax
    push dword 0                        ; GS
    push dword 0                        ; FS
    push dword 0x2000                   ; DS = CS
    push dword 0                        ; ES
    push dword 0x5000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x60102                  ; EFLAGS: AC, VM, TF, IOPL = 0
    push dword 0x2000                   ; CS
    push dword v86 - $$
    iretd

bits 16
v86:
    nop
s1: mov dword [es:EXC_RESUME], a0 - $$
    xor cx, cx
    mov ax, 1
    xor dx, dx
f0: div cx
a0: mov dword [es:EXC_RESUME], a1 - $$
    mov ax, 20
f1: bound ax, [bounds - $$]
a1: mov dword [es:EXC_RESUME], a2 - $$
f2: ud2
a2: mov dword [es:EXC_RESUME], a3 - $$
f3: mov ax, [odd - $$ + 1]              ; misaligned word: #AC(0)
a3: mov word [es:EXC_IDT + 6 * 8], finish - $$ + 0x20000   ; #UD -> finish (no paging,
    mov word [es:EXC_IDT + 6 * 8 + 6], (0x20000 + finish - $$) >> 16 ; IDT writable)
    ud2
align 4
bounds: dw 0, 10
odd:    db 0, 0x34, 0x12, 0

bits 32
db_handler:                             ; DR6, TF off in the frame, then the recorder
    push eax
    mov eax, dr6
    mov [ss:0xA000], eax
    mov eax, [esp + 12]
    mov [ss:0xA004], eax                ; EFLAGS with TF as the trap saw it
    and dword [esp + 12], ~0x100
    pop eax
    jmp exc_stubs32 + 16
finish:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
