; Guests of vmx_unrestricted.c, run with "unrestricted guest" (no paging): position-
; independent, entered at offset 0 of their code segment (real mode: CS base = rm_guest;
; 32-bit protected mode: flat CS, EIP = pm_guest).

VMX_HC_DONE equ 0x564D0000

section .text
align 16
global rm_guest, rm_guest_end
bits 16
rm_guest:
    mov ax, 0x1234
    vmcall                          ; exit 18 at IP 3 (RAX[15:0] = 1234H)
    xor eax, eax
    cpuid                           ; exit 10 (XOR EAX, EAX is 3 bytes in 16-bit code)
    mov eax, cr0
    mov ebx, eax                    ; RBX = CR0 as the guest sees it (PE = 0)
    mov eax, VMX_HC_DONE
    vmcall
    hlt
rm_guest_end:

align 16
global pm_guest, pm_guest_end, pm_vmcall
bits 32
pm_guest:
    mov eax, cr0
    mov ebx, eax                    ; PE = 1, PG = 0
    mov ecx, esp
    push 0x5A5A                     ; the stack works (flat SS)
    pop edx
    mov eax, VMX_HC_DONE
pm_vmcall:
    vmcall
    hlt
pm_guest_end:

; Task switches (exit 9): a far JMP and a far CALL to a TSS selector (0x20 in the
; guest's own GDT, vmx_unrestricted.c).
align 16
global pm_task_jmp, pm_task_call
pm_task_jmp:
    jmp 0x20:0
pm_task_call:
    call 0x20:0
    mov eax, VMX_HC_DONE
    vmcall
    hlt
