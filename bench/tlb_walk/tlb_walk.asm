; tlb_walk: touches 4096 pages (16 MiB) in a stride pattern that defeats every TLB
; level: each pass visits all pages once, consecutive accesses land on pages 1237
; apart, so a 2048-entry 16-way TLB and nestsim's 256-entry host TLB miss on nearly
; every access, and every miss walks the 4-level tables (4 KiB pages, set up by
; bench_region in the kernel build; a plain buffer in the hosted build).
;
; uint64_t bench_run(uint64_t n)      (SysV ABI: n in RDI, result in RAX)
;
; Retires exactly 8*4096 + 3 = 32771 instructions per iteration (n >= 1): 8 per page
; visited, 3 per pass. The result is the running sum, which depends on every load.

bits 64
default rel

%define PAGES 4096
%define STRIDE 1237

extern bench_region

section .text
global bench_run
bench_run:
    push rbx
    push r12
    push r13
    mov r12, rdi                ; passes
    call bench_region           ; RAX = linear base of the 4 KiB-mapped region
    mov rsi, rax
    mov ebx, 1                  ; running sum
    xor edx, edx                ; page index
    test r12, r12
    jz .done
.pass:                          ; 3 instructions per pass ...
    mov ecx, PAGES
.page:                          ; ... and 8 per page
    mov r8, rdx
    shl r8, 12
    add rbx, [rsi + r8]
    mov [rsi + r8], rbx
    add rdx, STRIDE
    and edx, PAGES - 1
    dec ecx
    jnz .page
    dec r12
    jnz .pass
.done:
    mov rax, rbx
    pop r13
    pop r12
    pop rbx
    ret
