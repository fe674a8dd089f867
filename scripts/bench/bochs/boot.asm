; Boot path for running nestsim's bare-metal kernels on PC emulators from a floppy
; (Bochs, whose firmware has no multiboot loader; QEMU can also boot the kernels directly
; with -kernel). Builds a 1.44 MB floppy image:
;
;   sector 0      boot sector: loads sectors 1..N to 0x7E00 with INT 13h (CHS)
;   sector 1..    stage 2 (below), then the kernel's flattened PT_LOAD segments
;
; Stage 2 acts as a minimal Multiboot v1 loader (Multiboot 0.6.96, 3.2 "Machine state"):
; it asks the BIOS for the memory size (INT 15h E801h, else 88h), enables A20, enters
; 32-bit protected mode with flat segments, copies the kernel to its load address and
; zeroes its BSS, writes a multiboot information structure (flags: memory and command
; line) at MBI_ADDR, and jumps to the ELF entry point with EAX = 0x2BADB002, EBX = MBI,
; paging off, IF = 0. The kernel's own stub (workloads/lib/boot.asm) does the rest.
;
; mkimg.py assembles this file with:
;   KERNEL_BLOB   path of the flat kernel image (from the lowest p_paddr)
;   KERNEL_LOAD   physical load address of the blob
;   KERNEL_MEMSZ  bytes to cover from KERNEL_LOAD (blob + trailing BSS)
;   KERNEL_ENTRY  ELF e_entry (the 32-bit multiboot entry)
;   KERNEL_ARGS   optional: a quoted string appended to the command line ("floppy ARGS")

%ifndef KERNEL_BLOB
  %error "define KERNEL_BLOB, KERNEL_LOAD, KERNEL_MEMSZ and KERNEL_ENTRY"
%endif

MBI_ADDR      equ 0x1000        ; multiboot information, then the command line (page 1)
MBI_CMDLINE   equ MBI_ADDR + 0x100
STACK_TOP     equ 0x7C00        ; below the boot sector, while stage 2 runs
MB_BOOT_MAGIC equ 0x2BADB002
SECTORS_PER_TRACK equ 18        ; 1.44 MB floppy geometry
HEADS         equ 2
IMAGE_SECTORS equ 2880

CODE32_SEL    equ 0x08
DATA_SEL      equ 0x10

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
    ; Memory size for the MBI: INT 15h E801h gives KiB in 1-16 MiB (AX or CX) and
    ; 64 KiB blocks above 16 MiB (BX or DX); without it, INT 15h 88h gives KiB above
    ; 1 MiB (at most 64 MiB).
    xor cx, cx
    xor dx, dx
    mov ax, 0xE801
    int 0x15
    jc .e88
    jcxz .use_ax
    mov ax, cx
    mov bx, dx
.use_ax:
    movzx eax, ax
    movzx ebx, bx
    shl ebx, 6                  ; 64 KiB blocks -> KiB
    add eax, ebx
    jmp .have_mem
.e88:
    mov ah, 0x88
    int 0x15
    movzx eax, ax
.have_mem:
    mov [mem_upper_kib], eax
    int 0x12                    ; KiB of conventional memory
    movzx eax, ax
    mov [mem_lower_kib], eax

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
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK_TOP

    ; Copy the kernel to its load address, then zero what the file does not cover.
    mov esi, kernel_blob
    mov edi, KERNEL_LOAD
    mov ecx, KERNEL_BLOB_SIZE
    rep movsb
    mov ecx, KERNEL_MEMSZ - KERNEL_BLOB_SIZE
    xor eax, eax
    rep stosb

    ; The multiboot information (Multiboot 0.6.96, 3.3): zeroed, then flags bit 0
    ; (mem_lower, mem_upper) and bit 2 (cmdline).
    mov edi, MBI_ADDR
    mov ecx, 0x100 / 4
    xor eax, eax
    rep stosd
    mov dword [MBI_ADDR + 0], (1 << 0) | (1 << 2)
    mov eax, [mem_lower_kib]
    mov [MBI_ADDR + 4], eax
    mov eax, [mem_upper_kib]
    mov [MBI_ADDR + 8], eax
    mov dword [MBI_ADDR + 16], MBI_CMDLINE
    mov esi, cmdline
    mov edi, MBI_CMDLINE
    mov ecx, cmdline_end - cmdline
    rep movsb

    push 2
    popfd                       ; EFLAGS = 0x2: IF = 0, DF = 0
    mov eax, MB_BOOT_MAGIC
    mov ebx, MBI_ADDR
    mov ecx, KERNEL_ENTRY
    jmp ecx

align 4
mem_lower_kib dd 0
mem_upper_kib dd 0
%ifdef KERNEL_ARGS
cmdline       db "floppy ", KERNEL_ARGS, 0  ; the image name, then the arguments
%else
cmdline       db "floppy", 0    ; the image name: no arguments
%endif
cmdline_end:

align 8
gdt:
    dq 0                        ; null
    dq 0x00CF9A000000FFFF       ; 0x08: flat 4 GiB 32-bit code, DPL 0
    dq 0x00CF92000000FFFF       ; 0x10: flat 4 GiB data, DPL 0
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
%if KERNEL_LOAD + KERNEL_MEMSZ > 0x100000000
  %error "kernel must end below 4 GiB"
%endif

    times IMAGE_SECTORS * 512 - ($ - $$) db 0
