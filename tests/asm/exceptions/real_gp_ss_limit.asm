; Real-mode #GP, #SS and the IVT limit (SDM Vol. 3A 20.1.4; Vol. 2A INT n, REAL-ADDRESS-
; MODE): an access that runs past the 64 KiB segment limit faults with #GP (DS/ES) or #SS
; (SS, including BP-based addressing), with no error code pushed and IP at the faulting
; instruction; INT n whose IVT entry ((n << 2) + 3) lies beyond the IDTR limit is #GP (a
; fault, IP of the INT). The limit is restored before the test ends.
; start: real
; load: 0x1000                   -- the stubs are long: keep clear of EXC_LOG at 0x7FF0
; stack: 0x7000
; expect: exc.count=5
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0 exc[0].cs=0 exc[0].rsp=0x7000
; expect: exc[1].vector=13 exc[1].rip=@f1
; expect: exc[2].vector=12 exc[2].rip=@f2 exc[2].rsp=0x7000
; expect: exc[3].vector=12 exc[3].rip=@f3
; expect: exc[4].vector=13 exc[4].rip=@f4
; expect: exceptions[13]=3 exceptions[12]=2
; expect: rbx=0x600d idtr.limit=0x3ff rax&0xffff=0x1234
; expect-stop: halted
%include "nestsim.inc"
bits 16
TEST_ORG 0x1000
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    call exc_install16
    mov word [EXC_RESUME], a0
f0: mov ax, [0xFFFF]                    ; word at DS:FFFF: byte 0x10000 is past the limit
a0: mov word [EXC_RESUME], a1
    mov di, 0xFFFE
f1: mov dword [es:di], 0                ; dword at ES:FFFE
a1: mov word [EXC_RESUME], a2
    mov bp, 0xFFFF
f2: mov ax, [bp]                        ; BP base: SS
a2: mov word [EXC_RESUME], a3
    mov bx, 0xFFFD
f3: mov eax, [ss:bx]                    ; explicit SS override
a3: lidt [small_ivt]                    ; vectors 0x00-0x20 only
    mov word [EXC_RESUME], a4
f4: int 0x21                            ; entry 0x84-0x87: beyond the limit
a4: lidt [full_ivt]
    mov ax, 0x1234
    mov bx, 0x600d
    hlt
small_ivt: dw 0x21 * 4 - 1
           dd 0
full_ivt:  dw 0x3FF
           dd 0
%include "exc16.inc"
