; More 64-bit exception classes (SDM Vol. 3A 6.15): INT1 -> #DB (trap, no error code);
; CR0.TS=1 + x87 -> #NM (fault); CR0.AM + RFLAGS.AC at CPL 3 + misaligned access -> #AC(0)
; (fault) delivered on RSP0 with the ring-3 SS:RSP; CR0.EM=1 + SSE -> #UD.
; start: long64
; load: 0x100000
; expect: exc.count=4
; expect: exc[0].vector=1 exc[0].rip=@a0
; expect: exc[1].vector=7 exc[1].rip=@f1
; expect: exc[2].vector=6 exc[2].rip=@f2
; expect: exc[3].vector=17 exc[3].error=0 exc[3].rip=@f3 exc[3].cs=0x2B exc[3].ss=0x23
; expect: exc[3].rsp=0x60000
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    db 0xF1                             ; INT1
a0: mov rax, cr0
    or eax, 8                           ; TS
    mov cr0, rax
    lea rax, [rel a1]
    mov [EXC_RESUME], rax
f1: fninit
a1: clts
    mov rax, cr0
    or eax, 4                           ; EM: SSE instructions #UD
    mov cr0, rax
    lea rax, [rel a2]
    mov [EXC_RESUME], rax
f2: addps xmm0, xmm1
a2: mov rax, cr0
    and eax, ~4
    or eax, 1 << 18                     ; AM
    mov cr0, rax
    lea rax, [rel done]
    mov [L64_CONT], rax
    ENTER_RING3_64 user
user:
    pushfq
    or qword [rsp], 1 << 18             ; AC
    popfq
    lea rax, [rel a3]
    mov [EXC_RESUME], rax
f3: mov eax, [0xA001]
a3: int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "long64.inc"
