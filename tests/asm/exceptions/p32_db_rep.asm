; A data breakpoint in the middle of REP INSB: the #DB trap is taken after the iteration
; that wrote the watched byte, with ECX and EDI describing the iterations done and EIP
; still on the REP instruction, which resumes after the handler's IRET and completes.
; SDM Vol. 3A 17.3.1.2: repeated INS/OUTS (and the other strings) trap after the iteration
; in which the breakpoint location is accessed.
; start: prot32
; load: 0x100000
; expect: exc.count=1 exc[0].vector=1 exc[0].rip=@r0
; expect: mem32[0xA000]=899 mem32[0xA004]=0x200065 mem32[0xA008]&0xF=2
; expect: rcx=0 rdi=0x2003E8 rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
DST equ 0x200000
    call prot32_setup
    mov eax, 1
    mov ebx, db_handler
    call exc_set_handler32
    mov eax, DST + 100
    mov dr1, eax
    mov eax, 0x4 | (1 << 20)            ; L1, RW1 = 01 (write), LEN1 = 00
    mov dr7, eax
    mov edi, DST
    mov ecx, 1000
    mov dx, 0x80
    cld
r0: rep insb
    mov ebx, 0x600d
    hlt
db_handler:
    mov [0xA000], ecx
    mov [0xA004], edi
    push eax
    mov eax, dr6
    mov [0xA008], eax
    xor eax, eax
    mov dr6, eax
    mov dr7, eax                        ; one hit is enough
    pop eax
    jmp exc_stubs32 + 16
%include "prot32.inc"
