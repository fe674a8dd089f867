; Far CALL through a call gate to an inner ring and back (SDM Vol. 3A 5.8.5-5.8.6): from
; CPL 3 a CALL to a DPL-3 gate naming a DPL-0 code segment switches to the TSS's SS0:ESP0,
; pushes the caller's SS, ESP, copies the gate's parameter count of dwords, pushes CS, EIP;
; RETF n pops them back to ring 3 and releases n bytes of parameters on both stacks.
; start: prot32
; load: 0x100000
; expect: mem32[0xA000]=0x08 mem32[0xA004]=0x10 mem32[0xA008]=@after_call
; expect: mem32[0xA00C]=0x1B mem32[0xA010]=0x222 mem32[0xA014]=0x111
; expect: mem32[0xA018]=0x5FFF8 mem32[0xA01C]=0x23 mem32[0xA020]=0x6FFE8
; expect: mem32[0xA024]=0x1B mem32[0xA028]=0x60000
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov dword [P32_CONT], done
    ENTER_RING3_32 user
user:
    push dword 0x111                    ; parameter 1
    push dword 0x222                    ; parameter 2
    call 0x63:0                         ; gate 0x60, RPL 3 (offset ignored)
after_call:
    mov [0xA024], cs
    mov [0xA028], esp                   ; RETF 8 released both parameters
    int 0x3F
done:
    mov ebx, 0x600d
    hlt

inner:                                  ; ring 0: [esp] EIP, CS, param2, param1, ESP, SS
    mov [0xA000], cs
    mov [0xA004], ss
    mov eax, [esp]
    mov [0xA008], eax
    mov eax, [esp + 4]
    mov [0xA00C], eax
    mov eax, [esp + 8]
    mov [0xA010], eax
    mov eax, [esp + 12]
    mov [0xA014], eax
    mov eax, [esp + 16]
    mov [0xA018], eax
    mov eax, [esp + 20]
    mov [0xA01C], eax
    mov [0xA020], esp
    retf 8

%macro P32_GDT_EXTRA 0
    GATE 0x08, ABS(inner), 0xC, 3, 2    ; 0x60: 32-bit call gate, DPL 3, 2 parameters
%endmacro
%include "prot32.inc"
