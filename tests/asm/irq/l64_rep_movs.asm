; An interrupt during REP MOVSB in 64-bit mode (SDM Vol. 2B REP; Vol. 3A 6.6), where the
; simulator copies page-sized pieces directly: the interrupt is taken between iterations
; with RIP on the REP, RCX + (RDI - destination) = the count, RSI - source = RDI -
; destination, and after IRETQ the copy completes with the right bytes.
; start: long64
; load: 0x100000
; irq: 0x30 at @r0#3
; expect: exc.count=1 exc[0].vector=0x30 exc[0].rip=@r0
; expect: mem64[0xA008]=300000 mem64[0xA010]=1 mem64[0xA018]=1
; expect: rcx=0 rdi=0x4493E0 mem64[0x400000]=0x0123456789ABCDEF mem8[0x4493DF]=0x01
; expect: mem8[0x4493E0]=0
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
COUNT equ 300000
SRC   equ 0x200000
DST   equ 0x400000
    call long64_setup
    mov eax, 0x30
    lea rbx, [rel h30]
    call exc_set_handler64
    mov edi, SRC
    mov rax, 0x0123456789ABCDEF
    mov ecx, COUNT / 8
    rep stosq
    mov esi, SRC
    mov edi, DST
    mov ecx, COUNT
    cld
    sti
    nop
r0: rep movsb
    mov ebx, 0x600d
    hlt
h30:
    push rax
    mov [0xA000], rcx
    mov rax, rdi
    sub rax, DST
    add rax, rcx
    mov [0xA008], rax                   ; = COUNT
    mov rax, rdi
    sub rax, DST
    add rax, SRC
    cmp rax, rsi
    sete al
    movzx eax, al
    mov [0xA010], rax                   ; 1: RSI and RDI moved together
    xor eax, eax
    cmp rcx, 0
    je .no
    cmp rcx, COUNT
    je .no
    inc eax
.no:
    mov [0xA018], rax                   ; 1: interrupted in the middle
    pop rax
    jmp exc_stubs64 + 0x30 * 16
%include "long64.inc"
