; #NP, #SS, #GP and #PF in 16-bit protected mode through 16-bit interrupt gates (SDM Vol.
; 3A 6.15, 6.12.1): the error code is pushed as a word; #NP(selector) for a not-present
; data segment, #SS(selector) for a not-present stack segment, #SS(0) for a word at
; SS:FFFF with a 64 KiB 16-bit stack segment (the frame goes on that stack), #GP(0) past
; a byte-granular limit, #PF with CR2 for a not-present 4 MiB page (32-bit paging, PSE),
; #TS(selector) for a far JMP to a TSS whose limit is below 0x67 (7.2.2).
; start: prot32
; load: 0x100000
; expect: exc.count=6
; expect: exc[0].vector=11 exc[0].error=0x40 exc[0].rip=@f0-0x100000 exc[0].cs=0x60
; expect: exc[1].vector=12 exc[1].error=0x40 exc[1].rip=@f1-0x100000
; expect: exc[2].vector=12 exc[2].error=0 exc[2].rip=@f2-0x100000 exc[2].ss=0x38
; expect: exc[2].rsp=0x7000
; expect: exc[3].vector=13 exc[3].error=0 exc[3].rip=@f3-0x100000
; expect: exc[4].vector=14 exc[4].error=0 exc[4].rip=@f4-0x100000 exc[4].cr2=0x400000
; expect: exc[5].vector=10 exc[5].error=0x68 exc[5].rip=@f5-0x100000 tr=0x28
; expect: mem32[0xA000]=0x7FFF0 rbx=0x600d mode=prot32
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
%define OFS(x) ((x) - $$)
    call prot32_setup
    call exc_install16p
    mov dword [0xB000], 0x83            ; PDE 0: 4 MiB identity; PDE 1 not present
    mov eax, 0xB000
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 4                      ; PSE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov esp, 0x7FFF0
    jmp 0x60:OFS(p16)
bits 16
p16:
    mov word [EXC_RESUME], OFS(a0)
    mov ax, 0x40
f0: mov ds, ax                          ; not present: #NP(0x40)
a0: mov word [EXC_RESUME], OFS(a1)
f1: mov ss, ax                          ; not present: #SS(0x40)
a1: mov ax, 0x38                        ; 16-bit data, base 0, limit 0xFFFF
    mov ss, ax
    mov esp, 0x7000
    mov word [EXC_RESUME], OFS(a2)
    mov bp, 0xFFFF
f2: mov ax, [bp]                        ; bytes FFFF-10000: #SS(0)
a2: mov ax, 0x10
    mov ss, ax
    mov esp, 0x7FFF0
    mov [dword 0xA000], esp
    mov word [EXC_RESUME], OFS(a3)
    mov ax, 0x48                        ; limit 0xFFF, byte granular
    mov es, ax
f3: mov ax, [es:0x1000]
a3: mov word [EXC_RESUME], OFS(a4)
f4: mov eax, [dword 0x400000]           ; PDE 1 not present
a4: mov word [EXC_RESUME], OFS(a5)
f5: jmp 0x68:0                          ; TSS limit 0x20: #TS(0x68)
a5: jmp dword 0x08:done
bits 32
done:
    mov ebx, 0x600d
    hlt
%macro P32_GDT_EXTRA 0
    DESC LOAD, 0xFFFF, 0x9A, 0x0        ; 0x60 16-bit code, ring 0, base = load address
    DESC ABS(small_tss), 0x20, 0x89, 0x0 ; 0x68 available 32-bit TSS, limit too small
%endmacro
align 16
small_tss: times 0x68 db 0
%include "prot32.inc"
%include "exc16p.inc"
