// The bare-metal runtime shared by every workload and benchmark kernel.
//
// Output goes to the COM1 UART (I/O port 0x3F8); the run ends with rt_exit(v), which
// writes v to port 0xF4. nestsim stops there and exits with status (v << 1) | 1, the
// convention of QEMU's isa-debug-exit device: v = 0 (status 1) is a pass. On Bochs,
// which has no such device, rt_exit then reports v on port 0xE9 and shuts Bochs down
// through port 0x8900.
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

// ---- serial output (COM1) ---------------------------------------------------
void rt_serial_init(void);     // called by the entry stub before main
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

// ---- end of run -------------------------------------------------------------
_Noreturn void rt_exit(uint32_t v);

// Assertion that survives release builds: prints file:line and the expression to the
// serial port, then exits with value 1 (nestsim status 3).
_Noreturn void rt_assert_fail(const char* file, int line, const char* expr);
#define RT_ASSERT(cond) \
  ((cond) ? (void)0 : rt_assert_fail(__FILE_NAME__, __LINE__, #cond))

// ---- memory (also the symbols gcc may call for struct copies) ----------------
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
