; Guest for the trace test (tests/cli/cli_test.sh): installs a GDT and an IDT with a
; #GP handler, loads DS with a selector beyond the GDT limit (#GP with error code
; 0x30, SDM Vol. 3A 6.15 "Interrupt 13"), and halts in the handler. Entered in 64-bit
; mode at 0x100078 (tests/db/make_loop_elf.py --flat).
bits 64
org 0x100078
  lea rax, [rel handler]
  mov rdi, idt + 13*16          ; 64-bit interrupt gate for #GP
  mov word [rdi], ax
  mov word [rdi+2], 0x08
  mov word [rdi+4], 0x8E00
  shr rax, 16
  mov word [rdi+6], ax
  shr rax, 16
  mov dword [rdi+8], eax
  lidt [rel idtr]
  lgdt [rel gdtr]
  mov ax, 0x33
  mov ds, ax                    ; #GP(0x30)
handler: hlt
align 8
idtr: dw 256*16-1
      dq idt
gdtr: dw 23
      dq gdt
gdt:  dq 0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF
idt:  times 256*16 db 0
