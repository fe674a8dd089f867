; Guest stubs of vmx_exits.c: each g_NAME sets up registers, executes the instruction
; at i_NAME (the exit the test expects, or none) and continues at a_NAME, which ends the
; guest with VMCALL(VMX_HC_DONE). The host checks the guest RIP against i_NAME and the
; instruction length against a_NAME - i_NAME, then resumes the guest at a_NAME.

bits 64
default rel

VMX_HC_DONE equ 0x564D0000

section .bss
align 4096
global guest_buf
guest_buf: resb 4096

section .text

guest_done:
    mov r15, rax                    ; keep the guest's RAX for the host (vmx_exits.c)
    mov eax, VMX_HC_DONE
    vmcall
    ud2

; STUB name: emits the global labels g_name; the body follows; I name / A name mark the
; instruction and its end.
%macro STUB 1
global g_%1, i_%1, a_%1
align 16
g_%1:
%endmacro
%macro I 1
i_%1:
%endmacro
%macro A 1
a_%1:
    jmp guest_done
%endmacro

STUB cpuid
    xor eax, eax
    xor ecx, ecx
I cpuid
    cpuid
A cpuid

STUB hlt
I hlt
    hlt
A hlt

STUB rdtsc
I rdtsc
    rdtsc
A rdtsc

STUB tsc_offset
I tsc_offset
    rdtsc
    shl rdx, 32
    or rax, rdx
A tsc_offset

STUB rdtscp
I rdtscp
    rdtscp
A rdtscp

STUB rdmsr_low
    mov ecx, 0x174                  ; IA32_SYSENTER_CS
I rdmsr_low
    rdmsr
A rdmsr_low

STUB rdmsr_pass
    mov ecx, 0x176                  ; IA32_SYSENTER_EIP: not intercepted
    mov eax, 0xDEAD
I rdmsr_pass
    rdmsr
A rdmsr_pass

STUB wrmsr_low
    mov ecx, 0x175                  ; IA32_SYSENTER_ESP
    mov eax, 0x1234
    xor edx, edx
I wrmsr_low
    wrmsr
A wrmsr_low

STUB rdmsr_high
    mov ecx, 0xC0000081             ; IA32_STAR
I rdmsr_high
    rdmsr
A rdmsr_high

STUB rdmsr_outside
    mov ecx, 0x40000100             ; outside both bitmap ranges: always exits
I rdmsr_outside
    rdmsr
A rdmsr_outside

STUB out_imm
    mov al, 0x5A
I out_imm
    out 0x80, al
A out_imm

STUB in_dx
    mov dx, 0x1234
I in_dx
    in eax, dx
A in_dx

STUB out_pass
    mov al, 0x00
I out_pass
    out 0x80, al                    ; POST port: harmless when it reaches the platform
A out_pass

STUB outsb
    lea rsi, [guest_buf]
    mov dx, 0x80
    mov ecx, 2
I outsb
    rep outsb
A outsb

STUB cr0_write
    mov rbx, cr0
    xor rbx, 8                      ; CR0.TS
I cr0_write
    mov cr0, rbx
A cr0_write

STUB cr0_read
I cr0_read
    mov rax, cr0
A cr0_read

STUB clts
I clts
    clts
A clts

STUB lmsw
    mov rax, cr0
    and eax, 0xFFFD                 ; CR0.MP = 0
I lmsw
    lmsw ax
A lmsw

STUB cr4_write
    mov rbx, cr4
    or rbx, 4                       ; CR4.TSD
I cr4_write
    mov cr4, rbx
A cr4_write

STUB cr4_read
I cr4_read
    mov rax, cr4
A cr4_read

STUB cr3_write
    mov rax, cr3
I cr3_write
    mov cr3, rax
A cr3_write

STUB cr3_read
I cr3_read
    mov rax, cr3
A cr3_read

STUB cr8_write
    xor eax, eax
I cr8_write
    mov cr8, rax
A cr8_write

STUB cr8_read
I cr8_read
    mov rbx, cr8
A cr8_read

STUB dr_read
I dr_read
    mov rbx, dr0
A dr_read

STUB invlpg
    mov rax, 0x123000
I invlpg
    invlpg [rax]
A invlpg

STUB rdpmc
    xor ecx, ecx
I rdpmc
    rdpmc
A rdpmc

STUB monitor
    lea rax, [guest_buf]
    xor ecx, ecx
    xor edx, edx
I monitor
    monitor
A monitor

STUB mwait
    xor eax, eax
    xor ecx, ecx
I mwait
    mwait
A mwait

STUB pause
I pause
    pause
A pause

STUB wbinvd
I wbinvd
    wbinvd
A wbinvd

STUB invd
I invd
    invd
A invd

STUB rdrand
I rdrand
    rdrand eax
A rdrand

STUB rdseed
I rdseed
    rdseed rbx
A rdseed

STUB xsetbv
    xor ecx, ecx
    xgetbv
I xsetbv
    xsetbv
A xsetbv

STUB vmcall
    mov eax, 0x1234
I vmcall
    vmcall
A vmcall

STUB ud2
I ud2
    ud2
A ud2

STUB pf
    mov rax, 0x8000000000           ; PML4 entry 1: not present in the runtime's tables
I pf
    mov rax, [rax]
A pf

STUB sgdt
    lea rax, [guest_buf]
I sgdt
    sgdt [rax + 8]
A sgdt

STUB str
I str
    str eax
A str

STUB vmxon
    lea rax, [guest_buf]
I vmxon
    vmxon [rax]
A vmxon

STUB vmclear
    lea rax, [guest_buf]
I vmclear
    vmclear [rax + 16]
A vmclear

STUB vmptrld
    lea rax, [guest_buf]
I vmptrld
    vmptrld [rax]
A vmptrld

STUB vmptrst
    lea rax, [guest_buf]
I vmptrst
    vmptrst [rax + 0x20]
A vmptrst

STUB vmread
    mov eax, 0x681E                 ; GUEST_RIP
I vmread
    vmread rbx, rax
A vmread

STUB vmwrite
    mov eax, 0x681E
    xor ebx, ebx
I vmwrite
    vmwrite rax, rbx
A vmwrite

STUB vmlaunch
I vmlaunch
    vmlaunch
A vmlaunch

STUB vmresume
I vmresume
    vmresume
A vmresume

STUB vmxoff
I vmxoff
    vmxoff
A vmxoff

STUB invept
    lea rax, [guest_buf]
    mov ebx, 2
I invept
    invept rbx, [rax]
A invept

STUB invvpid
    lea rax, [guest_buf]
    mov ebx, 2
I invvpid
    invvpid rbx, [rax]
A invvpid

STUB dr7_write
    mov eax, 0x400
I dr7_write
    mov dr7, rax
A dr7_write

STUB insb
    lea rdi, [guest_buf]
    mov dx, 0x80
    mov ecx, 3
I insb
    rep insb
A insb

STUB out_dx_word
    mov dx, 0x1234
    mov ax, 0x55AA
I out_dx_word
    out dx, ax
A out_dx_word

STUB lmsw_mem
    mov rax, cr0
    and eax, 0xFFFD                 ; CR0.MP = 0
    lea rbx, [guest_buf]
    mov [rbx + 0x40], ax
    lea rax, [rbx + 0x40]
I lmsw_mem
    lmsw [rax]
A lmsw_mem

STUB invpcid
    lea rax, [guest_buf]
    mov ebx, 2                      ; all contexts, including globals
I invpcid
    invpcid rbx, [rax]
A invpcid

STUB cr0_am
    mov rbx, cr0
    xor rbx, 1 << 18                ; CR0.AM: not in the guest/host mask
I cr0_am
    mov cr0, rbx
A cr0_am

STUB sidt
    lea rax, [guest_buf]
I sidt
    sidt [rax]
A sidt

STUB lgdt
    lea rax, [guest_buf]            ; the host put its GDTR image at +100H
I lgdt
    lgdt [rax + 0x100]
A lgdt

STUB sldt
I sldt
    sldt ax
A sldt

STUB ltr
    mov ax, 0x30
I ltr
    ltr ax
A ltr

STUB mtf
I mtf
    nop
A mtf

STUB nop
I nop
    nop
A nop
