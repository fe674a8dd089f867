; Exceptions in compatibility mode (SDM Vol. 3A 6.14.1, 6.14.2): events go through the
; 64-bit IDT (16-byte gates, 64-bit handlers) and always push a 64-bit frame with SS:RSP,
; whatever the interrupted code's size; INTO and BOUND are valid in compatibility mode
; (#OF trap, #BR fault); a CPL-3 event switches to RSP0 and pushes the ring-3 SS:RSP.
; The recorder's IRETQ returns to the 32-bit code segment.
; start: long64
; load: 0x100000
; expect: exc.count=7
; expect: exc[0].vector=0 exc[0].rip=@f0 exc[0].cs=0x40 exc[0].ss=0x10 exc[0].rsp=0x7FFF0
; expect: exc[1].vector=4 exc[1].rip=@a1 exc[1].cs=0x40
; expect: exc[2].vector=5 exc[2].rip=@f2
; expect: exc[3].vector=13 exc[3].error=0x1000 exc[3].rip=@f3
; expect: exc[4].vector=0x21 exc[4].rip=@a4 exc[4].cs=0x40
; expect: exc[5].vector=13 exc[5].error=0 exc[5].rip=@f5 exc[5].cs=0x1B exc[5].ss=0x23
; expect: exc[5].rsp=0x60000
; expect: exc[6].vector=14 exc[6].error=0x7 exc[6].rip=@f6 exc[6].cs=0x1B
; expect: exc[6].cr2=0x1000
; expect: rbx=0x600d mode=compat cpl=0 cs=0x40
; expect-stop: halted
%include "nestsim.inc"
bits 64
TEST_ORG 0x100000
    call long64_setup
    mov rsp, 0x7FFF0
    ; the first 2 MiB become 4 KiB pages; linear 0x1000 is supervisor-only
    mov qword [0xF000], 0xD007          ; PDPTE 0 -> PD at 0xD000 (P RW US)
    mov qword [0xD000], 0xC007          ; PDE 0 -> PT at 0xC000
    mov edi, 0xC000
    mov eax, 0x7                        ; P RW US
.pte:
    mov [rdi], rax
    add rax, 0x1000
    add edi, 8
    cmp edi, 0xD000
    jne .pte
    and byte [0xC008], ~4               ; linear 0x1000: U/S = 0
    mov rax, cr3
    mov cr3, rax
    push 0x40
    lea rax, [rel compat]
    push rax
    retfq
bits 32
compat:
    mov dword [EXC_RESUME], a0
    xor ecx, ecx
    mov eax, 1
    xor edx, edx
f0: div ecx
a0: mov al, 0x7F
    add al, 1                           ; OF
    into
a1: mov dword [EXC_RESUME], a2
    mov eax, 20
f2: bound eax, [bounds]
a2: mov dword [EXC_RESUME], a3
    mov ax, 0x1000
f3: mov es, ax
a3: int 0x21
a4: mov dword [L64_CONT], back
    push dword 0x23                     ; IRETD to ring 3, 32-bit code (compatibility)
    push dword L64_RING3_SP
    push dword 0x2
    push dword 0x1B
    push dword user
    iretd
user:
    mov ax, 0x23
    mov ds, ax
    mov dword [EXC_RESUME], a5
f5: cli
a5: mov dword [EXC_RESUME], a6
f6: mov dword [0x1000], 1               ; user write to a supervisor page
a6: int 0x3F
bits 64
back:                                   ; 64-bit ring 0 (L64_CONT): back to compatibility
    mov ax, 0x10
    mov ds, ax
    push 0x40
    lea rax, [rel fin]
    push rax
    retfq
bits 32
fin:
    mov ebx, 0x600d
    hlt
bounds: dd 0, 10
%include "long64.inc"
