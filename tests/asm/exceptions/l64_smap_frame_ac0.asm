; SMAP and the inner-privilege stack (SDM Vol. 3A 4.6), RFLAGS.AC = 0: the frame write to
; the user-page RSP0 is refused, and so are the frames of the resulting #PF and #DF: a
; triple fault. The IDT, GDT and TSS are on supervisor pages (smap_frame.inc), so only
; the frame writes can be what SMAP refuses. Compare l64_smap_frame.asm (AC = 1).
; start: long64
; load: 0x100000
; expect-stop: shutdown
; expect: cpl=3
%include "nestsim.inc"
%include "smap_frame.inc"
user:
    int 0x3F
    ud2
