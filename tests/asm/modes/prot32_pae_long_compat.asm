; protected mode -> PAE paging -> IA-32e mode (compatibility, then 64-bit) ->
; compatibility mode -> 64-bit mode -> leave IA-32e mode (SDM Vol. 3A 10.8.5, 10.8.5.4).
; Marks at 0xA000.. record each step; EFER is read back with RDMSR at each stage.
; start: prot32
; load: 0x100000
; expect: mode=prot32 cs=0x08 cr0&0x80000001=1 efer&0x500=0 cr4&0x20=0x20
; expect: mem32[0xA000]=0x500 mem32[0xA004]=0x18 mem64[0xA008]=0x123456789abcdef0
; expect: mem32[0xA010]=0x08 mem32[0xA014]=0x500 mem32[0xA018]=0x18 mem32[0xA01C]=0
; expect: mem32[0xA020]=4
; expect-stop: halted
; max-insns: 2000
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
PML4 equ 0xB000
PDPT equ 0xC000
PD   equ 0xD000
    lgdt [gdtr]
    jmp 0x08:.cs32
.cs32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; 4-level tables: identity-map 0-2 MiB with one 2 MiB page (SDM 4.5).
    mov dword [PML4], PDPT | 3
    mov dword [PDPT], PD | 3
    mov dword [PD], 0x83
    mov eax, cr4
    or eax, 1 << 5                      ; CR4.PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 8                      ; EFER.LME
    wrmsr
    mov eax, cr0
    or eax, 1 << 31                     ; CR0.PG: IA-32e mode, still compatibility mode
    mov cr0, eax
    rdmsr
    and eax, 0x500                      ; LME | LMA
    mov [0xA000], eax
    jmp 0x18:long64
bits 64
long64:
    mov [0xA004], cs
    mov r8, 0x123456789abcdef0          ; only 64-bit mode can do this
    mov [0xA008], r8
    jmp dword far [rel to_compat]       ; m16:32 far pointer (no REX.W): 0x08, 32-bit code
bits 32
compat:
    mov [0xA010], cs
    mov ecx, 0xC0000080
    rdmsr
    and eax, 0x500
    mov [0xA014], eax
    mov ebx, esp
    call width32                        ; compatibility mode pushes 4 bytes
    mov [0xA020], eax
    jmp 0x18:long64b
bits 64
long64b:
    mov [0xA018], cs
    jmp dword far [rel to_leave]
bits 32
leave:
    ; SDM 10.8.5.4: in compatibility mode, clear CR0.PG (LMA clears), then EFER.LME.
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax
    mov ecx, 0xC0000080
    rdmsr
    and eax, ~(1 << 8)
    wrmsr
    rdmsr
    and eax, 0x500
    mov [0xA01C], eax
    hlt

width32:
    mov eax, ebx
    sub eax, esp
    ret

align 8
to_compat:
    dd compat
    dw 0x08
align 8
to_leave:
    dd leave
    dw 0x08
align 8
gdt:
    dq 0
    DESC 0, 0xFFFFF, 0x9A, 0xC          ; 0x08 32-bit code
    DESC 0, 0xFFFFF, 0x92, 0xC          ; 0x10 data
    DESC 0, 0xFFFFF, 0x9A, 0xA          ; 0x18 64-bit code (L=1, D=0)
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
