; Boot path for running nestsim's bare-metal ELF kernels on PC emulators (Bochs, QEMU)
; whose firmware cannot load an ELF64 image. Builds a 1.44 MB floppy image:
;
;   sector 0      boot sector: loads sectors 1..N to 0x7E00 with INT 13h (CHS)
;   sector 1..    stage 2 (below), then the kernel's flattened PT_LOAD segments
;
; Stage 2 establishes exactly the entry state of nestsim's `run` contract
; (workloads/README.md): 64-bit mode, CPL 0, CS = 0x08 (64-bit code), DS/ES/SS/FS/GS =
; 0x10 (flat data), 4-level paging with linear == physical for the first 1 GiB (2 MiB
; pages), interrupts off, RSP = 0x80000, RFLAGS = 0x2, kernel copied to its load address
; with BSS zeroed; then it jumps to the ELF entry point.
;
; mkimg.py assembles this file with:
;   KERNEL_BLOB   path of the flat kernel image (from the lowest p_paddr)
;   KERNEL_LOAD   physical load address of the blob
;   KERNEL_MEMSZ  bytes to cover from KERNEL_LOAD (blob + trailing BSS)
;   KERNEL_ENTRY  ELF e_entry

%ifndef KERNEL_BLOB
  %error "define KERNEL_BLOB, KERNEL_LOAD, KERNEL_MEMSZ and KERNEL_ENTRY"
%endif

PML4          equ 0x1000        ; page tables: three 4 KiB pages below the BIOS area
PDPT          equ 0x2000
PD            equ 0x3000
STACK_TOP     equ 0x80000
SECTORS_PER_TRACK equ 18        ; 1.44 MB floppy geometry
HEADS         equ 2
IMAGE_SECTORS equ 2880

CODE64_SEL    equ 0x08
DATA_SEL      equ 0x10
CODE32_SEL    equ 0x18

bits 16
org 0x7C00

boot:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [boot_drive], dl

    ; Load sectors 1..LOAD_SECTORS one at a time (no track-crossing rules to obey),
    ; to 0x07E0:0000 and up, advancing ES by one sector.
    mov ax, 0x07E0
    mov es, ax
    mov word [lba], 1
.next:
    mov ax, [lba]
    cmp ax, LOAD_SECTORS + 1
    jae .loaded
    xor dx, dx
    mov bx, SECTORS_PER_TRACK
    div bx                      ; ax = lba / spt, dx = lba % spt
    mov cl, dl
    inc cl                      ; sector (1-based)
    xor dx, dx
    mov bx, HEADS
    div bx                      ; ax = cylinder, dx = head
    mov ch, al
    mov dh, dl
    mov dl, [boot_drive]
    mov si, 3                   ; retries
.retry:
    xor bx, bx
    mov ax, 0x0201              ; read 1 sector to ES:BX
    int 0x13
    jnc .ok
    dec si
    jz disk_error
    xor ax, ax                  ; reset the controller and try again
    int 0x13
    jmp .retry
.ok:
    mov ax, es
    add ax, 512 / 16
    mov es, ax
    inc word [lba]
    jmp .next
.loaded:
    jmp 0:stage2

disk_error:
    mov si, msg_disk
.print:
    lodsb
    test al, al
    jz .halt
    mov ah, 0x0E
    int 0x10
    jmp .print
.halt:
    hlt
    jmp .halt

msg_disk   db "boot: disk read error", 0
boot_drive db 0
lba        dw 0

    times 510 - ($ - $$) db 0
    dw 0xAA55

; ---- stage 2 (sector 1, at 0x7E00) ---------------------------------------------
stage2:
    ; Fast A20 gate (port 0x92 bit 1); bit 0 would reset the machine.
    in al, 0x92
    or al, 2
    and al, 0xFE
    out 0x92, al

    ; Real mode -> 32-bit protected mode, paging off (SDM Vol. 3A 10.9.1).
    lgdt [gdt_desc]
    mov eax, cr0
    or eax, 1                   ; CR0.PE
    mov cr0, eax
    jmp CODE32_SEL:pm32

bits 32
pm32:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK_TOP

    ; Identity map of the first 1 GiB with 2 MiB pages: PML4[0] -> PDPT[0] -> PD.
    mov edi, PML4
    mov ecx, 3 * 4096 / 4
    xor eax, eax
    rep stosd
    mov dword [PML4], PDPT | 3  ; present, writable
    mov dword [PDPT], PD | 3
    mov edi, PD
    mov eax, 0x83               ; present, writable, PS (2 MiB)
    mov ecx, 512
.pde:
    mov [edi], eax
    mov dword [edi + 4], 0
    add eax, 0x200000
    add edi, 8
    loop .pde

    ; Protected mode -> IA-32e mode (SDM Vol. 3A 10.8.5): CR4.PAE, CR3, EFER.LME,
    ; then CR0.PG; the far jump into a 64-bit code segment completes the switch.
    mov eax, cr4
    or eax, 1 << 5              ; CR4.PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xC0000080         ; IA32_EFER
    rdmsr
    or eax, 1 << 8              ; EFER.LME
    wrmsr
    mov eax, cr0
    or eax, 1 << 31             ; CR0.PG
    mov cr0, eax
    jmp CODE64_SEL:lm64

bits 64
lm64:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    ; Copy the kernel to its load address, then zero what the file does not cover.
    mov rsi, kernel_blob
    mov rdi, KERNEL_LOAD
    mov rcx, KERNEL_BLOB_SIZE
    rep movsb
    mov rcx, KERNEL_MEMSZ - KERNEL_BLOB_SIZE
    xor eax, eax
    rep stosb
    ; The rest of the entry state, then go.
    mov rsp, STACK_TOP
    push 2
    popfq                       ; RFLAGS = 0x2: IF = 0, DF = 0
    xor eax, eax
    xor ecx, ecx
    xor esi, esi
    xor edi, edi
    mov rax, KERNEL_ENTRY
    jmp rax

align 8
gdt:
    dq 0                        ; null
    dq 0x00AF9A000000FFFF       ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
    dq 0x00CF92000000FFFF       ; 0x10: flat 4 GiB data, DPL 0
    dq 0x00CF9A000000FFFF       ; 0x18: flat 32-bit code, DPL 0 (stage 2 only)
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt

align 16
kernel_blob:
    incbin KERNEL_BLOB
KERNEL_BLOB_SIZE equ $ - kernel_blob
image_end:

LOAD_SECTORS equ (image_end - stage2 + 511) / 512
%if KERNEL_LOAD < 0x100000
  %error "kernel must load at or above 1 MiB"
%endif
%if KERNEL_LOAD + KERNEL_MEMSZ > 0x40000000
  %error "kernel must end below 1 GiB (the identity map)"
%endif

    times IMAGE_SECTORS * 512 - ($ - $$) db 0
