// Interrupts through the runtime's IDT (rt_set_handler) from the PC's timers, the way
// small kernels written for QEMU's pc machine use them:
//   1. the i8254 PIT channel 0 (mode 2, ~1 kHz) on IRQ 0 through the i8259 pair,
//      remapped to vectors 0x20-0x2F, with HLT between interrupts (8259A ICW1-4,
//      OCW2 non-specific EOI; 8254 control word);
//   2. the local APIC timer in periodic mode on vector 0x40 (SDM Vol. 3A 11.5.4), with
//      the 8259 masked, EOI through the xAPIC EOI register;
//   3. a self-IPI (ICR, destination shorthand "self", fixed, vector 0x41).
// Each part waits for a fixed number of interrupts; a lost interrupt hangs nowhere
// because every wait is bounded by a TSC budget and then fails the run.
#include "rt.h"
#include "trap.h"

enum {
  kPic1 = 0x20, kPic2 = 0xA0,
  kPitCh0 = 0x40, kPitCmd = 0x43,
  kPitHz = 1193182, kTickHz = 1000,
  kVecPic = 0x20, kVecApicTimer = 0x40, kVecSelfIpi = 0x41, kVecSpurious = 0xFF,
  kTicks = 20,
};
#define APIC_BASE 0xFEE00000ull

static volatile unsigned pit_ticks, apic_ticks, ipis, spurious;

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static uint32_t apic_read(unsigned reg) { return *(volatile uint32_t*)(APIC_BASE + reg); }
static void apic_write(unsigned reg, uint32_t v) { *(volatile uint32_t*)(APIC_BASE + reg) = v; }

static void on_pit(struct rt_frame* f) {
  (void)f;
  pit_ticks++;
  rt_outb(kPic1, 0x20);  // OCW2: non-specific EOI
}
static void on_apic_timer(struct rt_frame* f) {
  (void)f;
  apic_ticks++;
  apic_write(0xB0, 0);  // EOI
}
static void on_ipi(struct rt_frame* f) {
  (void)f;
  ipis++;
  apic_write(0xB0, 0);
}
static void on_spurious(struct rt_frame* f) {
  (void)f;
  spurious++;  // no EOI for the spurious vector (SDM Vol. 3A 11.9)
}

// Waits with interrupts enabled (STI; HLT) until *counter reaches n; fails the run when
// far more time than needed passes (10 s at 4 GHz: a hang, not a slow machine).
static void wait_for(volatile unsigned* counter, unsigned n, const char* what) {
  uint64_t start = rdtsc();
  while (*counter < n) {
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    if (rdtsc() - start > 40000000000ull) {
      rt_printf("irq_timers: %s: %u of %u interrupts, then nothing\n", what, *counter, n);
      rt_exit(RT_EXIT_ASSERT);
    }
  }
}

static void pic_init(uint8_t mask1, uint8_t mask2) {
  rt_outb(kPic1, 0x11);  // ICW1: edge, cascade, ICW4 needed
  rt_outb(kPic2, 0x11);
  rt_outb(kPic1 + 1, kVecPic);      // ICW2: vectors 0x20-0x27
  rt_outb(kPic2 + 1, kVecPic + 8);  //       and 0x28-0x2F
  rt_outb(kPic1 + 1, 0x04);  // ICW3: slave on IR2
  rt_outb(kPic2 + 1, 0x02);  //       slave identity 2
  rt_outb(kPic1 + 1, 0x01);  // ICW4: 8086 mode, normal EOI
  rt_outb(kPic2 + 1, 0x01);
  rt_outb(kPic1 + 1, mask1);  // OCW1
  rt_outb(kPic2 + 1, mask2);
}

static void test_pit(void) {
  for (unsigned v = 0; v < 16; v++) rt_set_handler(kVecPic + v, 0);
  rt_set_handler(kVecPic, on_pit);
  pic_init(0xFE, 0xFF);  // IRQ 0 only
  const unsigned divisor = (kPitHz + kTickHz / 2) / kTickHz;
  rt_outb(kPitCmd, 0x34);  // channel 0, lobyte/hibyte, mode 2, binary
  rt_outb(kPitCh0, divisor & 0xFF);
  rt_outb(kPitCh0, divisor >> 8);
  wait_for(&pit_ticks, kTicks, "PIT IRQ 0");
  rt_outb(kPic1 + 1, 0xFF);  // mask everything again
  rt_printf("irq_timers: PIT: %u interrupts through the 8259\n", kTicks);
}

static void test_apic(void) {
  uint32_t r[4];
  rt_cpuid(1, 0, r);
  RT_ASSERT(r[3] & (1u << 9));  // CPUID.1:EDX.APIC
  uint64_t base = rt_rdmsr(0x1B);
  RT_ASSERT((base & ~0xFFFull & 0xFFFFFFFFFull) == APIC_BASE && (base & (1u << 11)));
  rt_set_handler(kVecApicTimer, on_apic_timer);
  rt_set_handler(kVecSelfIpi, on_ipi);
  rt_set_handler(kVecSpurious, on_spurious);
  apic_write(0xF0, 0x100 | kVecSpurious);  // SVR: software enable
  apic_write(0x80, 0);                     // TPR: accept every class
  apic_write(0x3E0, 0xB);                  // divide by 1
  apic_write(0x320, (1u << 17) | kVecApicTimer);  // LVT timer: periodic
  apic_write(0x380, 100000);               // initial count
  wait_for(&apic_ticks, kTicks, "local APIC timer");
  apic_write(0x320, 1u << 16);             // mask the timer
  apic_write(0x380, 0);                    // and stop it
  rt_printf("irq_timers: local APIC timer: %u periodic interrupts\n", kTicks);

  apic_write(0x300, (1u << 18) | kVecSelfIpi);  // ICR: shorthand self, fixed
  wait_for(&ipis, 1, "self-IPI");
  RT_ASSERT(!(apic_read(0x300) & (1u << 12)));  // delivery status idle
  rt_printf("irq_timers: self-IPI delivered\n");
}

int main(void) {
  test_pit();
  test_apic();
  rt_printf("irq_timers: all checks passed\n");
  return 0;
}
