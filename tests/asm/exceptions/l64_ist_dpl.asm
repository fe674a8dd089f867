; 64-bit event delivery details (SDM Vol. 3A 6.14.2-6.14.5): a gate with IST=1 switches to
; IST1 even without a privilege change, RSP aligned down to 16 bytes first; INT n from
; ring 3 through a DPL-0 gate is #GP(vector*8+2); through a DPL-3 gate the handler runs on
; RSP0 with the ring-3 SS:RSP in the frame.
; start: long64
; load: 0x100000
; expect: mem64[0xA000]=0x67FD8 mem64[0xA008]=@a0 mem64[0xA010]=0x7fff8
; expect: exc.count=2
; expect: exc[0].vector=13 exc[0].error=0x182 exc[0].rip=@f1 exc[0].cs=0x2B
; expect: exc[0].rsp=0x60000 exc[0].ss=0x23
; expect: exc[1].vector=0x31 exc[1].rip=@a2 exc[1].cs=0x2B exc[1].ss=0x23
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov eax, 0x32
    lea rbx, [rel ist_handler]
    call exc_set_handler64
    or byte [EXC_IDT + 0x32 * 16 + 4], 1   ; IST1
    sub rsp, 8                          ; misalign: IST ignores the old RSP anyway
    int 0x32
a0: add rsp, 8
    mov eax, 0x31
    call exc_gate_dpl3_64
    lea rax, [rel done]
    mov [L64_CONT], rax
    ENTER_RING3_64 user
user:
    lea rax, [rel a1]
    mov [EXC_RESUME], rax
f1: int 0x30
a1: int 0x31
a2: int 0x3F
done:
    mov ebx, 0x600d
    hlt

ist_handler:                            ; frame: rip cs rflags rsp ss on IST1 (0x68000)
    mov [0xA000], rsp                   ; 0x68000 - 5*8
    mov rax, [rsp]
    mov [0xA008], rax
    mov rax, [rsp + 24]
    mov [0xA010], rax                   ; interrupted RSP (0x80000 - 8)
    iretq
%include "long64.inc"
