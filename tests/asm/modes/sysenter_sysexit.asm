; SYSENTER/SYSEXIT round trip in protected mode (SDM Vol. 2B SYSENTER, SYSEXIT): SYSENTER
; loads CS = IA32_SYSENTER_CS, SS = CS+8 (flat, CPL 0), ESP/EIP from the MSRs and clears
; VM, IF, RF; SYSEXIT returns to CS = SYSENTER_CS+16, SS = SYSENTER_CS+24 (RPL 3) with
; EIP = EDX and ESP = ECX.
; start: prot32
; load: 0x100000
; expect: mem32[0xA000]=0x08 mem32[0xA004]=0x10 mem32[0xA008]=0x6F000 mem32[0xA00C]&0x200=0
; expect: mem32[0xA010]=0x1B mem32[0xA014]=0x23 mem32[0xA018]=0x5F000 mem32[0xA01C]=0x1234
; expect: rbx=0x600d cpl=0
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    xor edx, edx
    mov ecx, 0x174                      ; IA32_SYSENTER_CS
    mov eax, 0x08
    wrmsr
    mov ecx, 0x175                      ; IA32_SYSENTER_ESP
    mov eax, 0x6F000
    wrmsr
    mov ecx, 0x176                      ; IA32_SYSENTER_EIP
    mov eax, kernel
    wrmsr
    mov dword [P32_CONT], done
    ENTER_RING3_32 user
user:
    mov esi, 0x1234
    sysenter
back:
    mov [0xA010], cs
    mov [0xA014], ss
    mov [0xA018], esp
    mov [0xA01C], esi
    int 0x3F
done:
    mov ebx, 0x600d
    hlt

kernel:
    mov [0xA000], cs
    mov [0xA004], ss
    mov [0xA008], esp
    pushfd
    pop eax
    mov [0xA00C], eax
    mov edx, back
    mov ecx, 0x5F000
    sysexit
%include "prot32.inc"
