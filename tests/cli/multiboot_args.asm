; A Multiboot kernel (a.out kludge: flag 16, so nasm -f bin is enough) for the CLI
; checks of --append and --module. It exits through port 0xF4 with
;   mods_count + 4 * (the first module starts with 'M') + 8 * (the command line ends in 'Z'),
; or 0x40 when EAX does not hold the Multiboot boot magic.
bits 32
org 0x100000
hdr:
  dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
  dd hdr, hdr, 0, 0, start
start:
  mov esi, 0x40
  cmp eax, 0x2BADB002
  jne .out
  mov esi, [ebx+20]
  test esi, esi
  jz .cmd
  mov edi, [ebx+24]
  mov edi, [edi]
  cmp byte [edi], 'M'
  jne .cmd
  add esi, 4
.cmd:
  mov edi, [ebx+16]
.l:
  cmp byte [edi], 0
  je .e
  inc edi
  jmp .l
.e:
  cmp byte [edi-1], 'Z'
  jne .out
  add esi, 8
.out:
  mov eax, esi
  mov dx, 0xF4
  out dx, eax
  hlt
  jmp .out
