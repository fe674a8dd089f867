// EPT builder, I/O, MSR and VMREAD/VMWRITE bitmaps, shadow VMCS (vmx.h).
#include "rt.h"
#include "vmx.h"

// ---- EPT (SDM Vol. 3C 29.3.2, Tables 29-1 to 29-6) --------------------------------------
static unsigned ept_index(uint64_t gpa, int level) { return (gpa >> (12 + 9 * (level - 1))) & 511; }
static uint64_t level_size(int level) { return 1ull << (12 + 9 * (level - 1)); }

void ept_init(struct vmx_ept* e, bool ad) {
  e->pml4 = vmx_alloc_page();
  // 25.6.11: memory type WB (6), page-walk length 4 - 1, bit 6 = A/D flags.
  e->eptp = vmx_pa(e->pml4) | MT_WB | (3u << 3) | (ad ? 1u << 6 : 0);
}

// Replaces the large leaf *pte (at `level`) by a table of leaves one level down that map
// the same memory with the same attributes.
static void split(uint64_t* pte, int level) {
  uint64_t* t = vmx_alloc_page();
  uint64_t base = *pte & EPT_ADDR_MASK & ~(level_size(level) - 1);
  uint64_t attrs = *pte & ~EPT_ADDR_MASK;
  if (level - 1 == 1) attrs &= ~(uint64_t)EPT_LEAF;  // PTE bit 7 is ignored, keep it 0
  for (unsigned i = 0; i < 512; i++) t[i] = (base + i * level_size(level - 1)) | attrs;
  *pte = vmx_pa(t) | EPT_RWX;
}

void ept_map(struct vmx_ept* e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t flags) {
  int target = size == (1ull << 30) ? 3 : size == (1ull << 21) ? 2 : 1;
  uint64_t* table = e->pml4;
  for (int level = 4; level > target; level--) {
    uint64_t* pte = &table[ept_index(gpa, level)];
    if (*pte == 0) {  // (a leaf of page 0 with no access still has its memory type)
      *pte = vmx_pa(vmx_alloc_page()) | EPT_RWX;
    } else if (level <= 3 && (*pte & EPT_LEAF)) {
      split(pte, level);
    }
    table = (uint64_t*)(*pte & EPT_ADDR_MASK);
  }
  table[ept_index(gpa, target)] = (hpa & EPT_ADDR_MASK) | flags | (target > 1 ? EPT_LEAF : 0);
}

void ept_identity(struct vmx_ept* e, uint64_t bytes, uint64_t page) {
  for (uint64_t a = 0; a < bytes; a += page) ept_map(e, a, a, page, EPT_RWX | EPT_MEMTYPE(MT_WB));
}

uint64_t* ept_entry(struct vmx_ept* e, uint64_t gpa, int level) {
  uint64_t* table = e->pml4;
  for (int l = 4; l >= 1; l--) {
    uint64_t* pte = &table[ept_index(gpa, l)];
    if (l == level) return pte;
    if (*pte == 0 || (l <= 3 && (*pte & EPT_LEAF))) return 0;
    table = (uint64_t*)(*pte & EPT_ADDR_MASK);
  }
  return 0;
}

uint64_t* ept_leaf(struct vmx_ept* e, uint64_t gpa, int* level) {
  uint64_t* table = e->pml4;
  for (int l = 4; l >= 1; l--) {
    uint64_t* pte = &table[ept_index(gpa, l)];
    if (*pte == 0) return 0;
    if (l == 1 || (l <= 3 && (*pte & EPT_LEAF))) {
      if (level) *level = l;
      return pte;
    }
    table = (uint64_t*)(*pte & EPT_ADDR_MASK);
  }
  return 0;
}

void ept_set_perms(struct vmx_ept* e, uint64_t gpa, uint64_t perms) {
  uint64_t* pte = ept_leaf(e, gpa, 0);
  if (!pte) {
    rt_printf("ept: %lx is not mapped\n", gpa);
    rt_exit(RT_EXIT_ASSERT);
  }
  *pte = (*pte & ~(uint64_t)EPT_RWX) | (perms & EPT_RWX);
}

void ept_enable(struct vmx_ept* e) {
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS, 0);
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_EPT, 0);
  vmx_write(VMCS_EPT_POINTER, e->eptp);
}

// ---- bitmaps ------------------------------------------------------------------------
static void set_bit(uint8_t* b, unsigned i, bool on) {
  if (on)
    b[i / 8] |= (uint8_t)(1u << (i % 8));
  else
    b[i / 8] &= (uint8_t)~(1u << (i % 8));
}

void vmx_msr_intercept(uint8_t* bitmap, uint32_t msr, bool read, bool write) {
  // 25.6.9: read bitmap for low MSRs at 0, high at 1024; write bitmaps at 2048 and 3072.
  unsigned off;
  if (msr <= 0x1FFF)
    off = 0;
  else if (msr - 0xC0000000u <= 0x1FFF)
    off = 1024;
  else
    return;  // outside both ranges every access exits anyway
  unsigned bit = msr & 0x1FFF;
  set_bit(bitmap + off, bit, read);
  set_bit(bitmap + off + 2048, bit, write);
}

void vmx_io_intercept(uint8_t* a, uint8_t* b, uint16_t port, bool on) {
  // 25.6.4: bitmap A covers ports 0000H-7FFFH, B 8000H-FFFFH.
  if (port < 0x8000)
    set_bit(a, port, on);
  else
    set_bit(b, port - 0x8000u, on);
}

void vmx_field_bitmap_set(uint8_t* bitmap, uint32_t field, bool exits) {
  // 25.6.15: bits 14:0 of the encoding index the 4 KiB bitmap; a field with any higher
  // bit set always exits.
  set_bit(bitmap, field & 0x7FFF, exits);
}

void vmx_shadow_setup(struct vmx_shadow* s) {
  s->vmcs = vmx_alloc_vmcs(true);
  s->vmread_bitmap = vmx_alloc_page();
  s->vmwrite_bitmap = vmx_alloc_page();
  memset(s->vmread_bitmap, 0xFF, 4096);
  memset(s->vmwrite_bitmap, 0xFF, 4096);
  uint64_t cur = 0;
  vmptrst(&cur);
  if (vmclear(vmx_pa(s->vmcs)) != VMX_SUCCEED || vmptrld(cur) != VMX_SUCCEED) {
    rt_printf("vmx: shadow VMCS set-up failed\n");
    rt_exit(RT_EXIT_ASSERT);
  }
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS, 0);
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_VMCS_SHADOWING, 0);
  vmx_write(VMCS_LINK_POINTER, vmx_pa(s->vmcs));
  vmx_write(VMCS_VMREAD_BITMAP, vmx_pa(s->vmread_bitmap));
  vmx_write(VMCS_VMWRITE_BITMAP, vmx_pa(s->vmwrite_bitmap));
}
