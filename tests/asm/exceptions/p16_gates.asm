; 16-bit protected mode with 16-bit gates (SDM Vol. 3A 6.12.1, Figure 6-4; 6.13): a
; 16-bit interrupt gate pushes a 16-bit frame (FLAGS, CS, IP and, for #GP, a 16-bit error
; code); from CPL 3 it switches to SS0:ESP0 of the TSS and pushes SS and SP as words too.
; The code runs in 16-bit segments (base = the load address); the recorder's gates for
; vectors 0, 13 and 0x30 are replaced by 16-bit interrupt gates whose stubs log into
; EXC_LOG like exc32.inc does (IP values are offsets in the 16-bit segment). Ring-3
; 16-bit code with CR0.AM and EFLAGS.AC gets #AC(0) through a 16-bit gate (vector 17).
; start: prot32
; load: 0x100000
; expect: exc.count=5
; expect: exc[0].vector=0 exc[0].error=0 exc[0].rip=@f0-0x100000 exc[0].cs=0x60
; expect: exc[0].rsp=0x80000 exc[0].ss=0x10 exc[0].rflags&0x2=2
; expect: exc[1].vector=13 exc[1].error=0x1000 exc[1].rip=@f1-0x100000 exc[1].cs=0x60
; expect: exc[2].vector=0x30 exc[2].rip=@u1-0x100000 exc[2].cs=0x6B exc[2].rsp=0x6000
; expect: exc[2].ss=0x73
; expect: exc[3].vector=13 exc[3].error=0 exc[3].rip=@f3-0x100000 exc[3].cs=0x6B
; expect: exc[3].rsp=0x6000 exc[3].ss=0x73
; expect: exc[4].vector=17 exc[4].error=0 exc[4].rip=@f4-0x100000 exc[4].cs=0x6B
; expect: exc[4].rsp=0x6000 exc[4].ss=0x73
; expect: mem32[0xA000]=0x6FFF6      -- ESP0 minus five 16-bit words (SS SP FLAGS CS IP)
; expect: mem32[0xA004]=0x6FFF4      -- and one more for the #GP error code
; expect: rbx=0x600d mode=prot32 cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
%define OFS(x) ((x) - $$)
%macro GATE16 3                         ; vector, handler, dpl: 16-bit interrupt gate
    mov word [EXC_IDT + (%1) * 8], OFS(%2)
    mov word [EXC_IDT + (%1) * 8 + 2], 0x60
    mov word [EXC_IDT + (%1) * 8 + 4], 0x8600 | ((%3) << 13)
    mov word [EXC_IDT + (%1) * 8 + 6], 0
%endmacro
    call prot32_setup
    GATE16 0, s16_0, 0
    GATE16 13, s16_13, 0
    GATE16 0x30, s16_30, 3
    GATE16 17, s16_17, 0
    mov eax, cr0
    or eax, 1 << 18                     ; AM
    mov cr0, eax
    mov dword [P32_CONT], done
    jmp 0x60:OFS(p16)

bits 16
p16:                                    ; CPL 0, 16-bit code; DS/SS still the flat 0x10
    mov word [EXC_RESUME], OFS(a0)
    xor cx, cx
    mov ax, 1
    xor dx, dx
f0: div cx
a0: mov word [EXC_RESUME], OFS(a1)
    mov ax, 0x1000
f1: mov es, ax                          ; beyond the GDT limit: #GP(0x1000)
a1: push word 0x73                      ; SS: 16-bit data, ring 3
    push word 0x6000                    ; SP
    push word 0x0002                    ; FLAGS: IOPL 0
    push word 0x6B                      ; CS: 16-bit code, ring 3
    push word OFS(u0)
    iret                                ; 16-bit IRET to ring 3
u0: int 0x30
u1: mov ax, 0x73
    mov ds, ax
    mov word [EXC_RESUME], OFS(a3)
f3: cli                                 ; IOPL 0 < CPL 3: #GP(0)
a3: pushfd                              ; (ESP bits 31:16 are not ours: address with BP)
    mov bp, sp
    or byte [bp + 2], 1 << (18 - 16)    ; AC
    popfd
    mov word [EXC_RESUME], OFS(a4)
f4: mov ax, [0xA001]                    ; misaligned at CPL 3: #AC(0)
a4: int 0x3F                            ; 32-bit DPL-3 gate back to ring 0 (done)

s16_0:
    push word 0
    push word 0
    jmp s16_common
s16_13:
    mov [ss:0xA004], esp
    push word 13
    jmp s16_common
s16_17:
    push word 17
    jmp s16_common
s16_30:
    mov [ss:0xA000], esp
    push word 0
    push word 0x30
    ; fall through
; Frame: [esp] ebx, +4 eax, +8 ds, +10 vector, +12 error, +14 ip, +16 cs, +18 flags,
; then +20 sp, +22 ss when the privilege level changed (all words).
s16_common:
    push ds
    push eax
    push ebx
    mov ax, 0x10
    mov ds, ax
    mov ebx, [dword EXC_COUNT]
    shl ebx, 6
    add ebx, EXC_LOG
    movzx eax, word [esp + 10]
    mov [ebx + EXC_VEC], eax
    movzx eax, word [esp + 12]
    mov [ebx + EXC_ERR], eax
    movzx eax, word [esp + 14]
    mov [ebx + EXC_RIP], eax
    movzx eax, word [esp + 16]
    mov [ebx + EXC_CS], eax
    movzx eax, word [esp + 18]
    mov [ebx + EXC_FLAGS], eax
    test byte [esp + 16], 3
    jnz .outer
    lea eax, [esp + 20]
    mov [ebx + EXC_RSP], eax
    mov [ebx + EXC_SS], ss
    jmp .logged
.outer:
    movzx eax, word [esp + 20]
    mov [ebx + EXC_RSP], eax
    movzx eax, word [esp + 22]
    mov [ebx + EXC_SS], eax
.logged:
    inc dword [dword EXC_COUNT]
    mov ax, [dword EXC_RESUME]
    test ax, ax
    jz .ret
    mov [esp + 14], ax
    mov word [dword EXC_RESUME], 0
.ret:
    pop ebx
    pop eax
    pop ds
    add esp, 4
    iret

bits 32
done:
    mov ebx, 0x600d
    hlt
%macro P32_GDT_EXTRA 0
    DESC LOAD, 0xFFFF, 0x9A, 0x0        ; 0x60 16-bit code, ring 0, base = load address
    DESC LOAD, 0xFFFF, 0xFA, 0x0        ; 0x68 16-bit code, ring 3, same base
    DESC 0, 0xFFFF, 0xF2, 0x0           ; 0x70 16-bit data, ring 3, base 0
%endmacro
%include "prot32.inc"
