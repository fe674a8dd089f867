; Protected-mode virtual interrupts (SDM Vol. 3A 20.4, 20.4.2; Vol. 2B CLI, STI): with
; CR4.PVI = 1 at CPL 3 and IOPL < 3, CLI clears VIF and STI sets it (IF stays as it is,
; no #GP); STI while VIP = 1 is #GP(0) with VIF unchanged; with PVI = 0 CLI is #GP(0).
; start: prot32
; load: 0x100000
; expect: mem32[0xA000]&0x80200=0x200 mem32[0xA004]&0x80200=0x80200
; expect: exc.count=2
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f1 exc[0].cs=0x1B
; expect: exc[0].rflags&0x180200=0x100200
; expect: exc[1].vector=13 exc[1].error=0 exc[1].rip=@f2
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, cr4
    or eax, 2                           ; PVI
    mov cr4, eax
    mov dword [P32_CONT], second
    push dword 0x23
    push dword P32_RING3_SP
    push dword 0x200                    ; IF = 1, IOPL = 0
    push dword 0x1B
    push dword user1
    iretd
user1:
    mov ax, 0x23
    mov ds, ax
    cli                                 ; VIF = 0
    pushfd
    pop dword [0xA000]                  ; IF still 1
    sti                                 ; VIF = 1
    pushfd
    pop dword [0xA004]
    int 0x3F
second:
    mov dword [P32_CONT], third
    push dword 0x23
    push dword P32_RING3_SP
    push dword 0x100200                 ; IF = 1, VIP = 1, VIF = 0
    push dword 0x1B
    push dword user2
    iretd
user2:
    mov ax, 0x23
    mov ds, ax
    mov dword [EXC_RESUME], a1
f1: sti                                 ; VIP = 1: #GP(0)
a1: int 0x3F
third:
    mov eax, cr4
    and eax, ~2                         ; PVI = 0
    mov cr4, eax
    mov dword [P32_CONT], done
    ENTER_RING3_32 user3
user3:
    mov dword [EXC_RESUME], a2
f2: cli                                 ; IOPL 0 < CPL 3 without PVI: #GP(0)
a2: int 0x3F
done:
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
