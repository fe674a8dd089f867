; SMAP and the inner-privilege stack (SDM Vol. 3A 4.6): the frame an event delivery
; pushes on the ring-0 stack is an explicit supervisor-mode write, not one of the
; implicit accesses 4.6 lists (GDT/LDT, IDT, TSS), so with CR4.SMAP = 1 it may go to a
; user page while RFLAGS.AC = 1. The first 2 MiB get 4 KiB pages: user pages, except
; the IDT page and the image's pages up to user_page (GDT, TSS, ring-0 code), which are
; supervisor pages. RSP0 (0x70000) stays on a user page. Ring 3 sets AC and raises
; INT 0x3F: the frame lands on RSP0 with the saved AC and ring 0 continues.
; start: long64
; load: 0x100000
; expect: rbx=0x600d cpl=0 exc.count=0
; expect: mem64[0x6FFE8]&0x40000=0x40000 mem64[0x6FFF0]=0x60000 -- saved RFLAGS.AC, ring-3 RSP
; expect-stop: halted
%include "nestsim.inc"
%include "smap_frame.inc"
user:
    pushfq
    or dword [rsp], 1 << 18             ; AC: ring 3 may set it
    popfq
    int 0x3F
    ud2
