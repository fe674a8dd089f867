; Exceptions in virtual-8086 mode with IOPL = 0 and 32-bit paging (SDM Vol. 3A 20.2.7,
; 20.3.1.1, Table 20-2; 6.12.1.1; 4.7): INT n (CD) is IOPL-sensitive -> #GP(0), also for
; CD 03; INT3 (CC) and INTO are not: they go through the IDT, where a DPL-0 gate gives
; #GP(vector * 8 + 2) and a DPL-3 gate delivers the event; CLI and PUSHF -> #GP(0); IN
; with no I/O bitmap -> #GP(0); #PF with U/S = 1 in the error code and CR2 = the linear
; address. Each event leaves v8086 mode to ring 0 with a frame holding the v8086 SS:SP
; and EFLAGS.VM; the final #UD frame also holds ES, DS, FS, GS, which are null in the
; handler. The test is loaded at 0x20000 so v8086 IPs are label - 0x20000 (CS 0x2000).
; start: prot32
; load: 0x20000
; expect: exc.count=9
; expect: exc[0].vector=13 exc[0].error=0 exc[0].rip=@f0-0x20000 exc[0].cs=0x2000
; expect: exc[0].rsp=0x1000 exc[0].ss=0x5000 exc[0].rflags&0x23000=0x20000
; expect: exc[1].vector=13 exc[1].error=0x1A exc[1].rip=@f1-0x20000
; expect: exc[2].vector=13 exc[2].error=0 exc[2].rip=@f2-0x20000
; expect: exc[3].vector=4 exc[3].error=0 exc[3].rip=@a3-0x20000 exc[3].cs=0x2000
; expect: exc[4].vector=13 exc[4].error=0 exc[4].rip=@f4-0x20000
; expect: exc[5].vector=13 exc[5].error=0 exc[5].rip=@f5-0x20000
; expect: exc[6].vector=13 exc[6].error=0 exc[6].rip=@f6-0x20000
; expect: exc[7].vector=14 exc[7].error=4 exc[7].rip=@f7-0x20000 exc[7].cr2=0x40000
; expect: exc[8].vector=14 exc[8].error=7 exc[8].rip=@f8-0x20000 exc[8].cr2=0x41002
; expect: mem32[0xA100]=@f9-0x20000 mem32[0xA104]=0x2000 mem32[0xA108]&0x23200=0x20200
; expect: mem32[0xA10C]=0x1000 mem32[0xA110]=0x5000 mem32[0xA114]=0 mem32[0xA118]=0x4000
; expect: mem32[0xA11C]=0x600 mem32[0xA120]=0x700 mem32[0xA124]=0 mem32[0xA128]=0
; expect: mode=prot32 cpl=0 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x20000
    call prot32_setup
    mov edi, 0xC000                     ; PT: 0-4 MiB identity, user, writable
    mov eax, 0x7
.pte:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, 0xD000
    jne .pte
    mov dword [0xC000 + 0x40 * 4], 0    ; linear 0x40000 not present
    and dword [0xC000 + 0x41 * 4], ~2   ; linear 0x41000 read-only
    mov dword [0xB000], 0xC007
    mov eax, 0xB000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000                  ; PG, WP
    mov cr0, eax
    mov eax, 4                          ; INTO: a DPL-3 gate
    call exc_gate_dpl3_32
    mov eax, 6                          ; #UD ends the test
    mov ebx, finish
    call exc_set_handler32
    push dword 0x700                    ; GS
    push dword 0x600                    ; FS
    push dword 0x4000                   ; DS
    push dword 0                        ; ES
    push dword 0x5000                   ; SS
    push dword 0x1000                   ; ESP
    push dword 0x20202                  ; EFLAGS: VM, IF, IOPL = 0
    push dword 0x2000                   ; CS
    push dword v86 - $$                 ; IP
    iretd

bits 16
v86:
    mov dword [es:EXC_RESUME], a0 - $$
f0: int 0x30
a0: mov dword [es:EXC_RESUME], a1 - $$
f1: int3                                ; CC: gate 3 has DPL 0
a1: mov dword [es:EXC_RESUME], a2 - $$
f2: db 0xCD, 0x03                       ; INT 3 (CD 03): IOPL-sensitive
a2: mov al, 0x7F
    add al, 1
    into                                ; gate 4 has DPL 3: a trap through the IDT
a3: mov dword [es:EXC_RESUME], a4 - $$
f4: cli
a4: mov dword [es:EXC_RESUME], a5 - $$
f5: pushf
a5: mov dword [es:EXC_RESUME], a6 - $$
f6: in al, 0x80
a6: mov dword [es:EXC_RESUME], a7 - $$
f7: mov ax, [0]                         ; DS 0x4000: linear 0x40000, not present
a7: mov dword [es:EXC_RESUME], a8 - $$
f8: mov byte [0x1002], 1                ; linear 0x41002, read-only
a8: nop
f9: ud2

bits 32
finish:                                 ; ring 0, frame EIP CS EFLAGS ESP SS ES DS FS GS
    mov eax, ds
    mov [ss:0xA124], eax
    mov eax, fs
    mov [ss:0xA128], eax
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov esi, esp
    mov edi, 0xA100
    mov ecx, 9
    rep movsd
    mov ebx, 0x600d
    hlt
%include "prot32.inc"
