; Maskable interrupts and the interrupt shadows (SDM Vol. 3A 6.8.1, 6.8.3; Vol. 2B STI):
; with IF = 0 (CLI) a pending interrupt waits; STI lets it in only after the NEXT
; instruction (its frame's EIP is the one after that); a MOV SS holds back an interrupt
; and an NMI for one instruction as well; with IF = 1 and no shadow an interrupt is taken
; at once, before the instruction at that boundary. External interrupts have no error
; code and are traps (EIP of the next instruction to run); the frame holds IF = 1.
; start: prot32
; load: 0x100000
; irq: 0x30 at @c0
; irq: 0x31 at @m1
; nmi: at @n1
; irq: 0x32 at @p0
; expect: exc.count=4
; expect: exc[0].vector=0x30 exc[0].error=0 exc[0].rip=@s2 exc[0].rflags&0x200=0x200
; expect: exc[1].vector=0x31 exc[1].rip=@m2
; expect: exc[2].vector=2 exc[2].rip=@n2
; expect: exc[3].vector=0x32 exc[3].rip=@p0
; expect: mem32[0xA000]=1 mem32[0xA004]=0 irq.acks=3 irq.pending=0 nmi_blocked=0
; expect: rbx=0x600d
; expect-stop: halted
%include "nestsim.inc"
bits 32
TEST_ORG 0x100000
    call prot32_setup
    mov eax, 0x30
    mov ebx, irq30
    call exc_set_handler32
    xor esi, esi
    xor edi, edi
    cli
c0: mov ecx, 50                         ; the interrupt arrives here, IF = 0
    loop $
    mov [0xA004], esi                   ; still nothing delivered
    sti
s1: inc esi                             ; STI shadow: not before this one
s2: nop                                 ; the interrupt is taken at this boundary
    mov ax, ss
    mov ss, ax
m1: inc edi                             ; the interrupt arrives in the MOV SS shadow
m2: nop
    mov ss, ax
n1: inc edi                             ; the NMI arrives in the MOV SS shadow
n2: nop
p0: nop                                 ; IF = 1, no shadow: taken before this one
    mov ebx, 0x600d
    hlt

irq30:                                  ; ESI as the handler sees it, then the recorder
    mov [0xA000], esi
    jmp exc_stubs32 + 0x30 * 16
%include "prot32.inc"
