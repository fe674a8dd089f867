; Multiboot v1 boot stub of every workload: from the loader's 32-bit entry state to
; 64-bit mode and rt_start() (lib/start.c).
;
; The image is linked as ELF64 and converted to an ELF32 container (objcopy -O
; elf32-i386, cmake/NestsimWorkload.cmake), so QEMU's `-kernel`, GRUB, nestsim's
; multiboot loader and the Bochs floppy path (scripts/bench/bochs/) all load it.
;
; Entry state (Multiboot 0.6.96, 3.2 "Machine state"): 32-bit protected mode, paging off,
; CS/DS/ES/FS/GS/SS flat 4 GiB segments, A20 on, IF = 0, EAX = 0x2BADB002, EBX = the
; physical address of the multiboot information (MBI). ESP, the GDTR and the IDTR are
; undefined, so we load our own GDT and use our own stack before anything else.
;
; What the stub does, in order:
;   1. saves EAX (magic) and EBX (MBI) in BSS; loads its GDT, reloads every segment
;      register and takes the stack in BSS
;   2. checks CPUID for long mode (else prints a line on COM1 and exits with value 63,
;      RT_EXIT_BOOT, through the exit device: the run ends instead of hanging)
;   3. builds identity page tables for the first 4 GiB: PML4[0] -> PDPT, and PDPT[0..3]
;      as 1 GiB pages when CPUID.80000001H:EDX.Page1GB[26] says so, else four page
;      directories of 2 MiB pages. All pages supervisor, writable, write-back (the
;      memory types of MMIO come from the MTRRs/PAT as the firmware left them)
;   4. CR4 = PAE, CR3, EFER = LME (+ NXE when CPUID.80000001H:EDX.NX[20]), CR0 = PG WP
;      NE ET MP PE, and a far jump into the 64-bit code segment (SDM Vol. 3A 10.8.5 "Initializing IA-32e
;      Mode")
;   5. in 64-bit mode: reloads the data segments and calls rt_start(magic, mbi); the
;      magic check itself is in C so that a bad one is reported on the (initialised)
;      serial port
;
; Not done here, on purpose: BSS is not zeroed (every multiboot loader zeroes p_memsz
; beyond p_filesz, and zeroing tlb_walk's 16 MiB would dominate a short run; the page
; tables are written in full so they never depend on it); SSE/AVX/XSAVE are not
; enabled (workloads are built with -mgeneral-regs-only; a program that wants them
; sets CR4.OSFXSR/OSXSAVE itself).

bits 32

MB_MAGIC      equ 0x1BADB002
MB_FLAGS      equ 0x00000003        ; bit 0: page-align modules, bit 1: memory info wanted
MB_BOOT_MAGIC equ 0x2BADB002

CODE64_SEL    equ 0x08
DATA_SEL      equ 0x10
CODE32_SEL    equ 0x18

COM1          equ 0x3F8
EXIT_PORT     equ 0xF4
EXIT_NO_LONG_MODE equ 63            ; RT_EXIT_BOOT (rt.h): status (63 << 1) | 1 = 127

extern rt_start

; The header must lie in the first 8 KiB of the file, 4-byte aligned (Multiboot 3.1.1):
; link.ld puts .text.boot first in the first PT_LOAD, which starts at file offset 0x1000.
section .text.boot progbits alloc exec nowrite align=16
align 4
global multiboot_header
multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

global _start
_start:
    cli
    cld
    mov [boot_magic], eax           ; checked by rt_start (DS is flat at the entry)
    mov [boot_mbi], ebx
    lgdt [gdt_desc]
    jmp CODE32_SEL:.reload_cs
.reload_cs:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, boot_stack_top

    ; Long mode? (CPUID.80000000H:EAX >= 80000001H and CPUID.80000001H:EDX.LM[29])
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb no_long_mode
    mov eax, 0x80000001
    cpuid
    bt edx, 29
    jnc no_long_mode
    mov ebp, edx                    ; keep the feature bits: Page1GB[26], NX[20]

    ; PML4 and PDPT: zero, then PML4[0] -> PDPT (P, RW).
    mov edi, boot_pml4
    mov ecx, 2 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword [boot_pml4], boot_pdpt + 3
    bt ebp, 26
    jnc .pages_2m
    ; PDPT[0..3]: 1 GiB pages (P, RW, PS).
    mov dword [boot_pdpt + 0], 0x00000083
    mov dword [boot_pdpt + 8], 0x40000083
    mov dword [boot_pdpt + 16], 0x80000083
    mov dword [boot_pdpt + 24], 0xC0000083
    jmp .paging
.pages_2m:
    ; PDPT[i] -> PD i (P, RW); the four PDs are contiguous: 2048 entries of 2 MiB pages.
    mov dword [boot_pdpt + 0], boot_pd + 0x0003
    mov dword [boot_pdpt + 8], boot_pd + 0x1003
    mov dword [boot_pdpt + 16], boot_pd + 0x2003
    mov dword [boot_pdpt + 24], boot_pd + 0x3003
    mov edi, boot_pd
    mov eax, 0x83                   ; P, RW, PS
    mov ecx, 2048
.pde:
    mov [edi], eax
    mov dword [edi + 4], 0
    add eax, 0x200000
    add edi, 8
    dec ecx
    jnz .pde

.paging:
    ; Control registers are written whole, not ORed: the multiboot state leaves all but
    ; CR0.PE/PG undefined, and a stray CR4.LA57 or PCIDE would change what the tables
    ; mean.
    mov eax, 1 << 5                 ; CR4 = PAE
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080             ; IA32_EFER = LME (+ NXE: the XD bit is usable)
    mov eax, 1 << 8
    bt ebp, 20
    jnc .no_nx
    or eax, 1 << 11
.no_nx:
    xor edx, edx
    wrmsr
    ; CR0 = PG, WP (supervisor writes honour R/W), NE, ET, MP, PE; caches on (CD = NW =
    ; 0), x87 usable (EM = TS = 0).
    mov eax, 0x80010033
    mov cr0, eax
    jmp CODE64_SEL:long_mode

; Prints why on COM1 (no UART set-up: the reset state transmits on QEMU and nestsim)
; and ends the run through the exit device.
no_long_mode:
    mov esi, msg_no_long_mode
.next:
    lodsb
    test al, al
    jz .exit
    mov dx, COM1
    out dx, al
    jmp .next
.exit:
    mov eax, EXIT_NO_LONG_MODE
    out EXIT_PORT, eax
.hang:
    hlt
    jmp .hang

bits 64
long_mode:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, boot_stack_top         ; 16-byte aligned: `call` leaves RSP+8 aligned
    xor ebp, ebp                    ; end of the frame-pointer chain
    mov edi, [boot_magic]           ; 32-bit loads zero-extend: rt_start(magic, mbi)
    mov esi, [boot_mbi]
    call rt_start                   ; rt_start(magic, mbi) does not return
.hang:
    cli
    hlt
    jmp .hang

section .rodata
msg_no_long_mode: db "boot: this CPU has no long mode (CPUID.80000001H:EDX.LM = 0)", 10, 0

align 8
gdt:
    dq 0                            ; null
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code, DPL 0 (L = 1, D = 0)
    dq 0x00CF92000000FFFF           ; 0x10: flat 4 GiB data, DPL 0
    dq 0x00CF9A000000FFFF           ; 0x18: flat 4 GiB 32-bit code, DPL 0 (the stub only)
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt

section .bss nobits alloc noexec write align=4096
boot_pml4: resb 4096
boot_pdpt: resb 4096
boot_pd:   resb 4 * 4096                ; used only without 1 GiB pages
global boot_stack_top
boot_stack:
    resb 64 * 1024
boot_stack_top:
boot_magic: resd 1
boot_mbi:   resd 1
