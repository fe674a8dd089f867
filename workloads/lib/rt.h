// The bare-metal runtime shared by every workload and benchmark kernel.
//
// Boot: a Multiboot v1 kernel (lib/boot.asm) that QEMU (-kernel), GRUB and nestsim load;
// the stub enters 64-bit mode with identity paging of the first 4 GiB and calls
// rt_start() (lib/start.c), which programs COM1, installs the runtime's GDT, TSS and IDT
// (lib/trap.c: an exception prints its vector, error code, RIP and CR2 and ends the run
// with RT_EXIT_EXCEPTION), reads the boot information and runs main(); main's return
// value is the exit value.
//
// Output goes to the COM1 UART (I/O port 0x3F8); the run ends with rt_exit(v), which
// writes v to port 0xF4. nestsim and QEMU's isa-debug-exit stop there with status
// (v << 1) | 1: v = 0 (status 1) is a pass. On Bochs, which has no such device, rt_exit
// then reports v on port 0xE9 and shuts Bochs down through port 0x8900.
//
// Freestanding: no libc, no FPU/SSE state (built with -mgeneral-regs-only), no heap.
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ---- port I/O --------------------------------------------------------------
static inline void rt_outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void rt_outl(uint16_t port, uint32_t v) {
  __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t rt_inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static inline void rt_outw(uint16_t port, uint16_t v) {
  __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t rt_inl(uint16_t port) {
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

// ---- serial output (COM1) ---------------------------------------------------
void rt_serial_init(void);     // called by rt_start before main
void rt_putc(char c);
void rt_puts(const char* s);   // no newline added
void rt_write(const char* s, size_t n);
// A small printf: %d %i %u %x %X %p %c %s %%, length modifiers hh h l ll z,
// flags '-' and '0', a decimal field width. Returns the number of bytes written.
int rt_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char* fmt, va_list ap);
// The same formats into buf (always NUL-terminated when size > 0); returns the length
// the full output would have.
int rt_snprintf(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
int rt_vsnprintf(char* buf, size_t size, const char* fmt, va_list ap);

// ---- boot information (Multiboot v1, read before main) -------------------------
// The loader's command line: on QEMU and nestsim "<image path> <append>" (PLATFORM.md);
// "" when the loader gave none. A copy of up to 1023 bytes (rt_cmdline_truncated()),
// made at the first call: call it before overwriting low memory (where loaders put
// the string) if you do.
const char* rt_cmdline(void);
bool rt_cmdline_truncated(void);
// The command line after its first word (the image name): what --append / -append gave.
const char* rt_cmdline_args(void);
// Usable RAM in bytes: the sum of the memory map's type-1 ranges, or without a map
// (mem_lower + mem_upper) KiB; 0 when the loader gave neither.
uint64_t rt_mem_bytes(void);
// The multiboot information structure itself (lib/multiboot.h), for modules and the
// memory map: struct mb_info.
struct mb_info;
const struct mb_info* rt_mbi(void);

// ---- report channel -------------------------------------------------------------
// rt_report(key, fmt, ...) formats "key=value" (at most RT_REPORT_MAX bytes with the
// NUL; longer records are cut) into a buffer and hands its physical address to the
// simulator with a 32-bit OUT to port RT_REPORT_PORT (nestsim's ReportPort,
// sim/dev/misc.h), which records it with the run's results. On machines without the
// port (QEMU, Bochs) the write goes to an unassigned port and is ignored. The key must
// be non-empty and should be [A-Za-z0-9_.]; the value is free text. The device takes
// printable ASCII only, so other bytes (tabs, newlines) are sent as '?'.
enum { RT_REPORT_PORT = 0x0B10, RT_REPORT_MAX = 256, RT_REPORT_SIGNATURE = 0x4D49534E };
void rt_report(const char* key, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// True under nestsim: a 32-bit IN from the report port reads "NSIM" (all-ones elsewhere).
bool rt_on_nestsim(void);

// ---- end of run -------------------------------------------------------------
// Exit values of the runtime itself (status = (v << 1) | 1 on nestsim and QEMU).
enum {
  RT_EXIT_PASS = 0,
  RT_EXIT_ASSERT = 1,      // RT_ASSERT failed (status 3)
  RT_EXIT_EXCEPTION = 2,   // an exception nobody expected (status 5)
  RT_EXIT_BOOT = 63,       // not entered by a multiboot loader, or no long mode (status 127)
};
_Noreturn void rt_exit(uint32_t v);

// Assertion that survives release builds: prints file:line and the expression to the
// serial port, then exits with RT_EXIT_ASSERT (nestsim status 3).
_Noreturn void rt_assert_fail(const char* file, int line, const char* expr);
#define RT_ASSERT(cond) \
  ((cond) ? (void)0 : rt_assert_fail(__FILE_NAME__, __LINE__, #cond))

// ---- memory (also the symbols gcc may call for struct copies) ----------------
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
