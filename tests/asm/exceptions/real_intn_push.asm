; Real-mode event delivery details (SDM Vol. 3A 20.1.4): the handler is entered with IF,
; TF and AC cleared (the pushed FLAGS keep them); the IVT is located by IDTR.base (LIDT
; moves it).
; start: real
; load: 0x1000
; stack: 0x7000
; expect: exc.count=1 exc[0].vector=0x22 exc[0].rip=@a0 exc[0].rflags&0x300=0x200
; expect: mem32[0xA000]&0x40300=0 mem16[0xA002]=0x2222 mem16[0xA004]=0x6FFA
; expect: rbx=0x600d rsp&0xffff=0x7000
; expect-stop: halted
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    call exc_install16
    pushf
    pop ax
    or ax, 0x0200                       ; IF
    push ax
    popf
    pushfd
    or dword [esp], 1 << 18             ; AC (no effect in real mode; still cleared)
    popfd
    mov word [0x22 * 4], h22            ; vector 0x22 of the recorder's IVT -> h22 ...
    mov word [0x40 * 4 + 0xB000], h22b  ; ... and of a second IVT at 0xB000
    mov word [0x40 * 4 + 0xB002], 0
    int 0x22
a0: lidt [moved_ivt]
    int 0x40                            ; through the IVT at 0xB000
    lidt [home_ivt]
    pushfd
    and dword [esp], ~(1 << 18)
    popfd
    mov bx, 0x600d
    hlt
h22:                                    ; record, then log through the recorder's stub
    pushfd
    pop dword [0xA000]                   ; FLAGS in the handler: IF TF AC clear
    jmp word 0:(exc_stubs16 + 0x22 * 16)
h22b:
    mov word [0xA002], 0x2222
    mov [0xA004], sp
    iret
moved_ivt: dw 0x3FF
           dd 0xB000
home_ivt:  dw 0x3FF
           dd 0
%include "exc16.inc"
